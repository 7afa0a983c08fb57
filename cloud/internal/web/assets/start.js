// Creates a direct session (POST /api/v1/session) and opens its capture
// page. When the server asks for proof of work (--captcha pow), a Web Worker
// solves GET /api/v1/captcha/challenge first, off the main thread: no user
// action, no cookie, no third party (docs/api.md, "Abuse protection").
"use strict";
(function () {
  const status = document.getElementById("status");
  const bar = document.getElementById("bar");
  const retry = document.getElementById("retry");
  const params = new URLSearchParams(location.search);
  const body = { mode: params.get("mode") === "active" ? "active" : "passive" };
  if (params.get("redirect_url")) body.redirect_url = params.get("redirect_url");
  const started = performance.now();

  function fail(msg) {
    status.textContent = msg;
    status.className = "err";
    bar.hidden = true;
    retry.hidden = false;
  }

  function solve(ch) {
    return new Promise(function (resolve, reject) {
      const w = new Worker("/start/pow-worker.js");
      w.onmessage = function (e) {
        w.terminate();
        if (e.data.number < 0) { reject(new Error("no solution")); return; }
        const sol = { algorithm: ch.algorithm, challenge: ch.challenge, number: e.data.number, salt: ch.salt, signature: ch.signature };
        resolve({ header: btoa(JSON.stringify(sol)), tried: e.data.number + 1, ms: performance.now() - t0 });
      };
      w.onerror = function (e) { w.terminate(); reject(e); };
      const t0 = performance.now();
      w.postMessage({ salt: ch.salt, challenge: ch.challenge, maxnumber: ch.maxnumber });
    });
  }

  async function captchaHeader() {
    const r = await fetch("/api/v1/captcha/challenge", { cache: "no-store", credentials: "omit" });
    if (r.status === 404) return null; // this server asks for no proof of work
    if (!r.ok) throw new Error("challenge " + r.status);
    const ch = await r.json();
    if (ch.algorithm !== "SHA-256") throw new Error("algorithm " + ch.algorithm);
    return solve(ch);
  }

  async function start(attempt) {
    retry.hidden = true; bar.hidden = false; status.className = "";
    status.textContent = "Preparing a secure session…";
    try {
      const pow = await captchaHeader();
      const headers = { "Content-Type": "application/json" };
      if (pow) headers["X-Captcha"] = pow.header;
      const r = await fetch("/api/v1/session", { method: "POST", headers: headers, body: JSON.stringify(body), credentials: "omit" });
      const j = await r.json();
      if (r.status === 201) {
        document.documentElement.dataset.powTried = pow ? String(pow.tried) : "0";
        document.documentElement.dataset.powSolveMs = pow ? String(Math.round(pow.ms)) : "0";
        document.documentElement.dataset.powMs = String(Math.round(performance.now() - started));
        document.documentElement.dataset.sessionId = j.session_id;
        status.textContent = "Opening the camera page…";
        if (params.get("stay") !== "1") location.assign(j.session_url);
        return;
      }
      const code = j && j.detail ? j.detail.code : "";
      if (attempt < 2 && (code === "captcha.expired" || code === "captcha.replayed" || code === "captcha.required")) return start(attempt + 1);
      fail("The check could not start (" + (code || r.status) + "). Please try again.");
    } catch (e) {
      fail("The check could not start. Please try again.");
    }
  }
  retry.addEventListener("click", function () { start(0); });
  start(0);
})();
