"use strict";
// The try-it panels of /docs/api: each sends its operation's request from
// this page to this server with fetch and shows the status, the headers and
// the body. The credential lives only in the fields of this page (typed in
// one, copied to the others): it is never stored, never put in a URL and
// never logged.
(() => {
  const narrow = matchMedia("(max-width: 860px)");
  const toc = document.getElementById("toc");
  const fold = () => { if (toc) toc.open = !narrow.matches; };
  fold();
  narrow.addEventListener("change", fold);

  document.addEventListener("input", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLInputElement) || !t.hasAttribute("data-cred")) return;
    for (const f of document.querySelectorAll("input[data-cred]")) if (f !== t) f.value = t.value;
  });
  for (const form of document.querySelectorAll("form.try")) {
    form.addEventListener("submit", (ev) => { ev.preventDefault(); send(form); });
  }

  async function send(form) {
    const status = form.querySelector(".try-status");
    const out = form.querySelector(".try-out");
    let path = form.dataset.path;
    const query = new URLSearchParams();
    const headers = new Headers();
    for (const input of form.querySelectorAll("input[data-in]")) {
      const name = input.dataset.name, value = input.value.trim();
      if (value === "") {
        if (input.required) {
          status.textContent = "Fill in " + name + " (" + input.dataset.in + ").";
          input.focus();
          return;
        }
        continue;
      }
      if (input.dataset.in === "path") path = path.replace("{" + name + "}", encodeURIComponent(value));
      else if (input.dataset.in === "query") query.append(name, value);
      else if (input.dataset.in === "header") headers.set(name, value);
    }
    const cred = form.querySelector("input[data-cred]");
    if (cred && cred.value.trim() !== "") headers.set("Authorization", "Bearer " + cred.value.trim());
    const text = form.querySelector("textarea[data-body]");
    let body;
    if (text && text.value.trim() !== "") {
      body = text.value;
      headers.set("Content-Type", "application/json");
    }
    const qs = query.toString();
    const url = path + (qs ? "?" + qs : "");
    const button = form.querySelector("button");
    button.disabled = true;
    status.textContent = "Sending " + form.dataset.method + " " + path + "…";
    try {
      const resp = await fetch(url, { method: form.dataset.method, headers, body, cache: "no-store", credentials: "omit", redirect: "manual" });
      const lines = [];
      resp.headers.forEach((v, k) => lines.push(k + ": " + v));
      lines.sort();
      const rl = resp.headers.get("x-ratelimit-limit");
      status.textContent = resp.type === "opaqueredirect" ? "A redirect (not followed)." :
        resp.status + " " + resp.statusText + (rl === null ? "" :
          " · rate limit: " + resp.headers.get("x-ratelimit-remaining") + " of " + rl + " left, window resets in " + resp.headers.get("x-ratelimit-reset") + " s");
      out.querySelector(".try-headers").textContent = lines.join("\n");
      out.querySelector(".try-body").textContent = await show(resp);
      out.hidden = false;
    } catch (err) {
      status.textContent = "The request failed: " + err.message;
      out.hidden = true;
    } finally {
      button.disabled = false;
    }
  }

  // show words a response body: JSON indented, text as it is, anything
  // else (a JPEG, a recording) by its size and type.
  async function show(resp) {
    const type = resp.headers.get("content-type") || "";
    if (/json/.test(type)) {
      const t = await resp.text();
      try { return JSON.stringify(JSON.parse(t), null, 2); } catch { return t; }
    }
    if (/^text\//.test(type)) {
      const t = await resp.text();
      return t.length > 20000 ? t.slice(0, 20000) + "\n… (" + t.length + " characters)" : t;
    }
    const b = await resp.arrayBuffer();
    return b.byteLength ? "(" + b.byteLength + " bytes of " + (type || "unknown type") + ")" : "(no body)";
  }
})();
