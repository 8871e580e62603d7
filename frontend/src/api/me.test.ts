import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { bearerFetch } from "./http";
import { MeApi, syncTimeZone } from "./me";

let backend: FakeBackend;
const api = () => new MeApi(bearerFetch(() => fakeToken("alice")));
const methods = () => backend.calls.map((c) => c.method);

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

describe("syncTimeZone", () => {
  it("sets the browser's zone when the stored one differs", async () => {
    expect(await syncTimeZone(api(), "Europe/Berlin")).toEqual({ user_id: "alice", timezone: "Europe/Berlin" });
    expect(backend.timezones.get("alice")).toBe("Europe/Berlin");
    expect(methods()).toEqual(["GET", "PATCH"]);
  });

  it("sends nothing when the zone is already stored, or the browser gives none", async () => {
    backend.timezones.set("alice", "Asia/Tokyo");
    expect((await syncTimeZone(api(), "Asia/Tokyo")).timezone).toBe("Asia/Tokyo");
    expect((await syncTimeZone(api(), null)).timezone).toBe("Asia/Tokyo");
    expect(methods()).toEqual(["GET", "GET"]);
  });

  it("keeps the stored zone when the server does not know the browser's", async () => {
    expect((await syncTimeZone(api(), "Mars/Olympus_Mons")).timezone).toBe("UTC");
    expect(backend.timezones.has("alice")).toBe(false);
  });
});
