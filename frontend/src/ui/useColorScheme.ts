import { useEffect, useState } from "react";

/** The user's `prefers-color-scheme`, kept current (ChatKit needs it explicitly; our CSS uses the media query). */
export function useColorScheme(): "light" | "dark" {
  const query = typeof window !== "undefined" && window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const [dark, setDark] = useState(() => query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener("change", on);
    return () => query.removeEventListener("change", on);
  }, [query]);
  return dark ? "dark" : "light";
}
