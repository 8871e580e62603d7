/**
 * Loads ChatKit's web component from OpenAI's CDN on demand (only when ChatKit is configured), and tells
 * whether `<openai-chatkit>` got defined in time. The element lives only on the CDN: offline, behind a
 * firewall or when the CDN is down it never appears, and the page falls back to the built-in chat UI.
 */

export const CHATKIT_ELEMENT = "openai-chatkit";

/** Adds the ChatKit script once; resolves false as soon as the script fails to load. */
export function injectChatKitScript(src: string, doc: Document = document): Promise<boolean> {
  const existing = doc.querySelector<HTMLScriptElement>(`script[data-chatkit]`);
  if (existing) return Promise.resolve(true);
  return new Promise((resolve) => {
    const s = doc.createElement("script");
    s.src = src;
    s.async = true;
    s.crossOrigin = "anonymous";
    s.dataset.chatkit = "";
    s.onload = () => resolve(true);
    s.onerror = () => resolve(false);
    doc.head.appendChild(s);
  });
}

/** Resolves true when the element is defined within `timeoutMs`, false otherwise (or when `failed` fires first). */
export function waitForChatKit(timeoutMs: number, failed?: Promise<boolean>): Promise<boolean> {
  if (customElements.get(CHATKIT_ELEMENT)) return Promise.resolve(true);
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(!!customElements.get(CHATKIT_ELEMENT)), timeoutMs);
    customElements.whenDefined(CHATKIT_ELEMENT).then(() => done(true));
    failed?.then((loaded) => {
      if (!loaded) done(false);
    });
  });
}
