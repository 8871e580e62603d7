import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown, parseBlocks } from "./Markdown";

describe("Markdown", () => {
  it("splits paragraphs and lists", () => {
    expect(parseBlocks("Here you go:\n- one\n- two\n\n1. a\n2. b\nDone")).toEqual([
      { kind: "p", lines: ["Here you go:"] },
      { kind: "ul", items: ["one", "two"] },
      { kind: "ol", items: ["a", "b"] },
      { kind: "p", lines: ["Done"] },
    ]);
  });

  it("renders bold, code and lists as elements, never as HTML", () => {
    const { container } = render(<Markdown text={"**Buy** `milk`\n- <img src=x onerror=alert(1)>"} />);
    expect(container.querySelector("strong")?.textContent).toBe("Buy");
    expect(container.querySelector("code")?.textContent).toBe("milk");
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("li")?.textContent).toBe("<img src=x onerror=alert(1)>");
  });
});

describe("Markdown inline rules", () => {
  it("leaves snake_case alone", () => {
    const { container } = render(<Markdown text={"Added fix_login_bug_now"} />);
    expect(container.querySelector("em")).toBeNull();
    expect(container.textContent).toBe("Added fix_login_bug_now");
  });
});
