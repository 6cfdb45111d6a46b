// fabsync web UI: plain JavaScript over the JSON API (SPEC §4). No build step, no framework,
// nothing fetched from anywhere but this server. Every API-provided string goes through esc()
// (or textContent) and every number through num() before it reaches the page.
"use strict";

const TOKEN_KEY = "fabsync-token";
const ACTIVE = new Set(["queued", "syncing", "ingesting"]);
const STATE_WORDS = {
  queued: "queued", syncing: "syncing", ingesting: "ingesting", succeeded: "succeeded",
  partial_sync: "partial sync", failed: "failed", canceled: "canceled",
};
const STAGE_WORDS = { git_sync: "Git sync", ingest: "Ingesting", done: "Done" };

const state = {
  fabrics: [],
  polling: {},   // fabric -> id of the job being polled
  pending: {},   // fabric -> "sync" or "preview" while its POST /sync is in flight
  drift: {},     // fabric -> its GET /drift answer, once asked for (hover or click on the badge)
  driftOpen: null, // fabric whose drift list is shown
  selected: null, // fabric whose history is shown
  logJob: null,  // job whose log is shown
  bannerKind: "",
  refreshing: false,
};

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function num(n) {
  const v = Number(n);
  return Number.isFinite(v) ? v : 0;
}

function plural(n, word) {
  n = num(n);
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// setHTML replaces an element's content only when it changed, so that a periodic re-render does
// not destroy the button a user is pressing or the element that has the keyboard focus.
function setHTML(el, html) {
  if (el && el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
}

class Unauthorized extends Error {}

// The token also goes into a session cookie of the same name, which the server accepts where
// a page navigation cannot send an Authorization header (the Asynqmon link). SameSite=Strict:
// no other site can make the browser send it.
function setToken(tok) {
  if (tok) {
    sessionStorage.setItem(TOKEN_KEY, tok);
    document.cookie = `${TOKEN_KEY}=${encodeURIComponent(tok)}; path=/; SameSite=Strict`;
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    document.cookie = `${TOKEN_KEY}=; path=/; max-age=0; SameSite=Strict`;
  }
}

async function api(path, opts = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
  const tok = sessionStorage.getItem(TOKEN_KEY);
  if (tok) headers["Authorization"] = "Bearer " + tok;
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) {
    if (tok) setToken("");
    askToken(Boolean(tok));
    throw new Unauthorized("an API token is required");
  }
  if (!res.ok) {
    const msg = body && body.error && body.error.message ? body.error.message : res.status + " " + res.statusText;
    throw new Error(msg);
  }
  return { status: res.status, body };
}

// banner shows a message above the fabrics (html must be escaped already); kind lets a later
// success clear only the message it makes stale.
function banner(html, kind = "error") {
  const b = document.getElementById("banner");
  state.bannerKind = html ? kind : "";
  if (!html) { b.hidden = true; b.innerHTML = ""; return; }
  b.className = "banner " + kind;
  b.hidden = false;
  b.innerHTML = html;
}

// sinceTime shows when the fabrics file became invalid: the time of day ("10:42"), with the
// date in front when that was not today.
function sinceTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return "";
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return d.toDateString() === new Date().toDateString() ? hm : d.toLocaleDateString() + " " + hm;
}

// renderConfig shows, above everything else, that the fabrics file on disk is invalid and the
// server still runs its last good content (the config field of GET /api/v1/fabrics); it hides
// the banner once the file is valid again.
function renderConfig(c) {
  const b = document.getElementById("config-banner");
  if (!c || c.ok !== false) {
    b.hidden = true;
    setHTML(b, "");
    return;
  }
  const since = sinceTime(c.since);
  setHTML(b, `<strong>fabrics file invalid${since ? " since " + esc(since) : ""}:</strong> ` +
    `${esc(c.error || "no reason was given")}; still running the last good one`);
  b.hidden = false;
}

function askToken(refused) {
  const old = document.getElementById("token-form");
  if (old) {
    if (refused) document.getElementById("token-error").textContent = "That token was refused; try again.";
    return;
  }
  banner(`<form id="token-form">
    <label for="token-input">This server needs an API token.</label>
    <input type="password" id="token-input" autocomplete="off" required>
    <button type="submit">Use token</button>
    <span id="token-error" class="token-error" role="alert">${refused ? "That token was refused; try again." : ""}</span>
    <p class="muted">The token is kept for this browser tab only.</p></form>`, "token");
  const tbody = document.querySelector("#fabrics tbody");
  if (!state.fabrics.length) {
    tbody.dataset.key = "";
    setHTML(tbody, `<tr><td colspan="7" class="muted">Enter the API token to see the fabrics.</td></tr>`);
  }
  document.getElementById("token-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const v = document.getElementById("token-input").value.trim();
    if (!v) return;
    setToken(v);
    banner("");
    refresh();
  });
  document.getElementById("token-input").focus();
}

function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleString();
}

function duration(j) {
  if (!j.started_at) return "";
  const end = j.finished_at ? new Date(j.finished_at) : new Date();
  const s = Math.max(0, (end - new Date(j.started_at)) / 1000);
  if (isNaN(s)) return "";
  if (s < 0.05) return "< 0.1 s";
  return s < 60 ? s.toFixed(1) + " s" : Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}

function fmtResync(r) {
  if (!r || r === "0s") return "off";
  return "every " + String(r).replace(/(\D)0s$/, "$1").replace(/(\D)0m$/, "$1");
}

// withoutCredentials drops secrets from a URL's user info (the API never sends any; this is a
// belt): an http(s) user name can be a token, an ssh user name (git@) is only a name.
function withoutCredentials(u) {
  const s = String(u ?? "");
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/@]*)@/i.exec(s);
  if (!m) return s;
  const user = /^https?$/i.test(m[1]) ? "" : m[2].split(":")[0] + "@";
  return m[1] + "://" + user + s.slice(m[0].length);
}

function stateBadge(st) {
  return `<span class="state ${esc(st)}">${esc(STATE_WORDS[st] || st)}</span>`;
}

function shortSha(s) { return s ? String(s).slice(0, 10) : ""; }

function docError(e) {
  const where = num(e.line) > 0 ? `${e.file}:${num(e.line)}:${num(e.column)}` : String(e.file ?? "");
  return `${where} document ${num(e.document)}: ${e.message ?? ""}`;
}

// PROBLEMS_OPEN is how many warnings a file shows before they are folded away.
const PROBLEMS_OPEN = 5;

// problemsOf returns the located problems of a job's last ingest attempt, errors and warnings,
// each with a severity. A record older than ingest.problems has only its errors (no rule, no
// excerpt).
function problemsOf(j) {
  const i = j.ingest || {};
  const list = Array.isArray(i.problems) && i.problems.length ? i.problems : (Array.isArray(i.errors) ? i.errors : []);
  return list.map(p => Object.assign({}, p, { severity: p.severity === "warning" ? "warning" : "error" }));
}

function problemCounts(errors, warnings) {
  const parts = [];
  if (errors || !warnings) parts.push(plural(errors, "error"));
  if (warnings) parts.push(plural(warnings, "warning"));
  return parts.join(", ");
}

// groupProblems groups problems by file, in the server's order; errors come before warnings in
// a file, and files with errors before the others.
function groupProblems(probs) {
  const files = new Map();
  for (const p of probs) {
    const name = String(p.file ?? "");
    if (!files.has(name)) files.set(name, { name, errors: [], warnings: [] });
    files.get(name)[p.severity === "warning" ? "warnings" : "errors"].push(p);
  }
  const all = [...files.values()];
  return all.filter(f => f.errors.length).concat(all.filter(f => !f.errors.length));
}

// problemWhere is where a problem is in its file: "15:6", "line 15", "document 2" or "file".
function problemWhere(p) {
  const line = num(p.line), col = num(p.column), doc = num(p.document);
  if (line > 0) return col > 0 ? `${line}:${col}` : `line ${line}`;
  return doc > 0 ? `document ${doc}` : "file";
}

// excerptHTML escapes an excerpt ("14 |   spec:" lines and a caret line) and marks the caret.
function excerptHTML(x) {
  return String(x).replace(/\n+$/, "").split("\n").map(l => {
    const e = esc(l.replace(/\r$/, ""));
    return /^\s*\|\s*\^\s*$/.test(l) ? `<span class="caret">${e}</span>` : e;
  }).join("\n");
}

function problemItem(p) {
  const sev = p.severity === "warning" ? "warning" : "error";
  const doc = num(p.document) > 0 ? ` title="document ${num(p.document)}"` : "";
  return `<li class="problem ${sev}"><span class="where"${doc}>${esc(problemWhere(p))}</span> ` +
    `<span class="sev ${sev}">${sev}</span> ` +
    (p.rule ? `<code class="rule">${esc(p.rule)}</code> ` : "") +
    `<span class="msg">${esc(p.message)}</span>` +
    (p.excerpt ? `<pre class="excerpt">${excerptHTML(p.excerpt)}</pre>` : "") + `</li>`;
}

// problemsHTML shows problems grouped by file: a heading per file with its counts, then each
// problem with its place, severity, rule, message and the lines around it. Where a file has
// many warnings they are folded into a <details>.
function problemsHTML(probs) {
  if (!probs.length) return "";
  const files = groupProblems(probs);
  const nerr = probs.filter(p => p.severity !== "warning").length;
  return `<div class="problems"><p class="problems-total">${problemCounts(nerr, probs.length - nerr)} in ${plural(files.length, "file")}:</p>` +
    files.map(f => {
      const warn = f.warnings.map(problemItem).join("");
      return `<section class="problem-file" data-file="${esc(f.name)}">` +
        `<h4><code class="file">${esc(f.name || "(no file)")}</code> <span class="counts">${problemCounts(f.errors.length, f.warnings.length)}</span></h4>` +
        (f.errors.length ? `<ul class="problem-list">${f.errors.map(problemItem).join("")}</ul>` : "") +
        (!f.warnings.length ? "" : f.warnings.length > PROBLEMS_OPEN
          ? `<details class="more-warnings"><summary>${plural(f.warnings.length, "warning")}</summary><ul class="problem-list">${warn}</ul></details>`
          : `<ul class="problem-list">${warn}</ul>`) +
        `</section>`;
    }).join("") + `</div>`;
}

// otherWarnings are the ingest.warnings that are not one of the located warnings (which the
// server also lists there as text).
function otherWarnings(j, probs) {
  const located = probs.filter(p => p.severity === "warning" && p.message);
  return ((j.ingest || {}).warnings || []).filter(w => !located.some(p =>
    String(w).startsWith(String(p.file ?? "")) && String(w).includes(String(p.message))));
}

// renderDetail shows the job picked in the history: its problems, grouped by file, above its log.
function renderDetail(j) {
  const box = document.getElementById("jobdetail");
  const probs = problemsOf(j);
  const other = otherWarnings(j, probs);
  let body = problemsHTML(probs);
  if (other.length) {
    body += `<div class="warnings"><p>${plural(other.length, probs.length ? "other warning" : "warning")}:</p><ul>` +
      other.map(w => `<li>${esc(w)}</li>`).join("") + `</ul></div>`;
  }
  if (!body) body = `<p class="muted">${ACTIVE.has(j.state) ? "No problems found so far." : "No problems were found in the raw files."}</p>`;
  if (j.dry_run && j.state === "succeeded") body = planHTML(j, false) + body;
  setHTML(box, `<h3 class="card-title">${cardTitle(j)}</h3>` + body);
  box.dataset.job = String(j.id ?? "");
  box.hidden = false;
}

function attemptErrors(title, errs) {
  if (!errs || errs.length < 2) return ""; // one failed attempt is already the reason above
  return `<details class="attempts"><summary>${esc(title)} (${plural(errs.length, "attempt")} failed)</summary>
    <ol>${errs.map(e => `<li>${esc(e)}</li>`).join("")}</ol></details>`;
}

// summary describes a finished job in plain words.
function summary(j) {
  const g = j.git_sync || {}, i = j.ingest || {};
  const out = [];
  switch (j.state) {
    case "succeeded":
      if (j.dry_run) {
        out.push(planHTML(j, true));
        break;
      }
      if (num(i.files) === 0) {
        out.push(`<p>Nothing to ingest: <code>raw/</code> holds no YAML. The repository is unchanged.</p>`);
      } else {
        out.push(`<p>Synced ${plural(i.files, "raw file")} with ${plural(i.documents, "document")}: ` +
          `${num(i.created)} created, ${num(i.updated)} updated, ${num(i.unchanged)} unchanged; ` +
          `${plural(i.archived, "file")} archived. ` +
          (i.commit ? `Pushed commit <code class="commit" title="${esc(i.commit)}">${esc(shortSha(i.commit))}</code>.`
            : `Nothing changed, so no commit was needed.`) + `</p>`);
      }
      break;
    case "partial_sync": {
      out.push(j.dry_run
        ? `<p>Preview: git sync worked${g.commit ? ` (at <code>${esc(shortSha(g.commit))}</code>)` : ""}, then ingestion found problems, ` +
          `so a sync would fail. <strong>Nothing was pushed.</strong> Fix the raw files and preview again.</p>`
        : `<p>Git sync worked${g.commit ? ` (at <code>${esc(shortSha(g.commit))}</code>)` : ""}, then ingestion failed. ` +
          `<strong>Nothing was changed in the repository.</strong> Fix the raw files and sync again.</p>`);
      const errs = i.errors || [];
      if (errs.length) {
        out.push(`<p>${plural(errs.length, "problem")} in the raw files:</p>` +
          `<ul class="errors">${errs.map(e => `<li>${esc(docError(e))}</li>`).join("")}</ul>`);
      } else if (i.error || j.reason) {
        out.push(`<ul class="errors"><li>${esc(i.error || j.reason)}</li></ul>`);
      }
      break;
    }
    case "failed":
      out.push(`<p><strong>Failed:</strong> ${esc(j.reason || g.error || i.error || "no reason was recorded")}</p>`);
      break;
    case "canceled":
      out.push(`<p>The ${j.dry_run ? "preview" : "job"} was canceled${j.reason ? ` (${esc(j.reason)})` : ""}. Nothing was pushed by it.</p>`);
      break;
  }
  if (j.state !== "succeeded") {
    out.push(attemptErrors("Git sync errors", g.attempt_errors));
    if (j.state !== "partial_sync" || num(i.attempts) > 1) out.push(attemptErrors("Ingest errors", i.attempt_errors));
  }
  if (i.warnings && i.warnings.length) {
    out.push(`<div class="warnings"><p>${plural(i.warnings.length, "warning")}:</p><ul>` +
      i.warnings.map(w => `<li>${esc(w)}</li>`).join("") + `</ul></div>`);
  }
  if (Array.isArray(i.problems) && i.problems.length) {
    out.push(`<p><button type="button" class="link showjob" data-job="${esc(j.id)}" data-of="${esc(j.fabric)}" aria-controls="jobdetail">` +
      `Show the problems by file, with the lines they are on</button></p>`);
  }
  return out.join("");
}

// PLAN_OPEN bounds the plans whose diffs are shown unfolded: at most this many changed files
// and PLAN_OPEN_LINES diff lines in all.
const PLAN_OPEN = 10, PLAN_OPEN_LINES = 400;
const ACTIONS = new Set(["created", "updated", "deleted", "unchanged"]);

// diffHTML escapes a unified diff and gives each line a class by its first characters: file
// headers, hunk headers (@@), added (+) and removed (-) lines, context.
function diffHTML(d) {
  return String(d ?? "").replace(/\n+$/, "").split("\n").map(l => {
    l = l.replace(/\r$/, "");
    const cls = /^(\+\+\+|---) /.test(l) ? "hdr" : l.startsWith("@@") ? "hunk" : l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : "ctx";
    return `<span class="${cls}">${esc(l) || " "}</span>`;
  }).join("");
}

function actionBadge(a) {
  const act = ACTIONS.has(a) ? a : "unchanged";
  return `<span class="act ${act}">${esc(a || "unchanged")}</span>`;
}

// planHTML shows a succeeded dry run's plan: its summary and counts, then the files it would
// write or delete, each changed file's diff in a <details>; withSync adds the Sync now button.
function planHTML(j, withSync) {
  const p = j.plan;
  if (!p || typeof p !== "object") {
    return `<div class="plan"><p>The preview ended, but the server recorded no plan for it.</p></div>`;
  }
  const created = num(p.created), updated = num(p.updated), deleted = num(p.deleted), unchanged = num(p.unchanged);
  const changes = created + updated + deleted;
  const files = Array.isArray(p.files) ? p.files : [];
  const changed = files.filter(f => f && f.action !== "unchanged");
  const lines = changed.reduce((n, f) => n + String(f.diff ?? "").split("\n").length, 0);
  const open = changed.length <= PLAN_OPEN && lines <= PLAN_OPEN_LINES;
  const out = [`<div class="plan" data-job="${esc(j.id)}">`];
  const at = (j.git_sync || {}).commit;
  out.push(`<p class="plan-head"><strong>Preview</strong> of a sync${at ? ` at <code title="${esc(at)}">${esc(shortSha(at))}</code>` : ""}: ` +
    `what it would change in the repository. Nothing was pushed.</p>`);
  if (p.summary && changes > 0) out.push(`<p class="plan-summary">${esc(p.summary)}</p>`); // else it says "no changes"
  const empty = num((j.ingest || {}).files) === 0; // raw/ held nothing to ingest
  out.push(changes === 0
    ? (empty ? `<p class="plan-counts">Nothing would change: <code>raw/</code> holds no YAML to ingest.</p>`
      : `<p class="plan-counts">Nothing would change: <code>managed/</code> already matches <code>raw/</code> (${plural(unchanged, "file")} unchanged).</p>`)
    : `<p class="plan-counts">A sync would change ${plural(changes, "file")}: <span class="act created">${created} created</span> ` +
      `<span class="act updated">${updated} updated</span> <span class="act deleted">${deleted} deleted</span> ` +
      `<span class="act unchanged">${unchanged} unchanged</span></p>`);
  let shown = 0;
  if (files.length) {
    out.push(`<ul class="plan-files">` + files.map(f => {
      f = f || {};
      const head = `${actionBadge(f.action)} <code class="path">${esc(f.path)}</code>` +
        (f.action === "unchanged" ? "" : ` <span class="muted lines">+${num(f.added)} −${num(f.removed)}</span>`);
      const item = `<li class="plan-file ${ACTIONS.has(f.action) ? esc(f.action) : ""}" data-path="${esc(f.path)}">`;
      if (f.action === "unchanged") return item + head + `</li>`;
      if (!f.diff) return item + head + ` <span class="muted">(diff not shown)</span></li>`;
      shown++;
      return item + `<details class="diff"${open ? " open" : ""}><summary>${head}</summary>` +
        `<pre class="diff">${diffHTML(f.diff)}</pre></details></li>`;
    }).join("") + `</ul>`);
  }
  if (p.truncated) {
    out.push(`<p class="plan-truncated">diffs truncated: ${plural(Math.max(0, changes - shown), "file")} not shown</p>`);
  }
  if (withSync && changes > 0) {
    out.push(`<p class="plan-actions"><button type="button" class="syncnow" data-fabric="${esc(j.fabric)}">Sync now</button> ` +
      `<span class="muted">runs the real sync of ${esc(j.fabric)}, which makes these changes and pushes them</span></p>`);
  } else if (withSync && !empty) {
    out.push(`<p class="plan-actions"><button type="button" class="syncnow" data-fabric="${esc(j.fabric)}">Sync now</button> ` +
      `<span class="muted">runs the real sync of ${esc(j.fabric)} all the same (it archives the raw files)</span></p>`);
  }
  out.push(`</div>`);
  return out.join("");
}

function progressOf(j) {
  const p = j.progress || {};
  const percent = Math.min(100, Math.max(0, Math.round(num(p.percent))));
  const queued = j.state === "queued";
  const stage = queued ? "Queued" : STAGE_WORDS[p.stage] || String(p.stage || "");
  const message = queued && (!p.message || p.message === "queued") ? "waiting for a worker" : String(p.message || "");
  return { percent, text: `${stage} · ${percent}%` + (message ? ` · ${message}` : "") };
}

function cardTitle(j) {
  const when = j.finished_at || j.started_at || j.created_at;
  return `${j.dry_run ? "Preview" : "Job"} <code>${esc(j.id)}</code> ${stateBadge(j.state)} ` +
    (j.dry_run ? `<span class="tag dryrun">dry run</span> ` : "") +
    `<span class="muted card-when">${esc(j.trigger)}, ${esc(fmtTime(when))}${j.finished_at ? ", took " + esc(duration(j)) : ""}</span>`;
}

function jobCard(j) {
  const running = ACTIVE.has(j.state);
  const head = `<h3 class="card-title">${cardTitle(j)}</h3>`;
  if (!running) {
    return `<div class="card" data-job="${esc(j.id)}" data-state="${esc(j.state)}">${head}
      <div class="result" role="status">${summary(j)}</div></div>`;
  }
  const p = progressOf(j);
  // The bar's width is set by updateCard (the CSP allows no style attributes).
  return `<div class="card" data-job="${esc(j.id)}" data-state="${esc(j.state)}">${head}
    <div class="bar" role="progressbar" aria-label="Progress of job ${esc(j.id)}" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow="${p.percent}" aria-valuetext="${esc(p.text)}"><div></div></div>
    <div class="progress-text" aria-live="polite">${esc(p.text)}</div>
    ${j.cancel_requested ? `<button type="button" class="danger cancel" data-job="${esc(j.id)}" disabled>Canceling…</button>`
      : `<button type="button" class="danger cancel" data-job="${esc(j.id)}">Cancel</button>`}
  </div>`;
}

// showCancel keeps a running job's Cancel button disabled, saying "Canceling…", once a cancel
// was asked for (by anyone: cancel_requested comes from the server) until the job ends, when
// the card shows the result instead. It never enables the button: cancel() does that when its
// request fails.
function showCancel(card, j) {
  const btn = card.querySelector("button.cancel");
  if (!btn || !j.cancel_requested) return;
  btn.disabled = true;
  if (btn.textContent !== "Canceling…") btn.textContent = "Canceling…";
}

// updateCard shows the fabric's latest job under its row. A running job's card is updated in
// place (bar, text), so its Cancel button stays the same element between polls.
function updateCard(fabric, j) {
  const row = document.getElementById("jobrow-" + fabric);
  const td = document.getElementById("job-" + fabric);
  if (!row || !td) return;
  if (!j) { row.hidden = true; setHTML(td, ""); return; }
  row.hidden = false;
  const card = td.querySelector(".card");
  if (card && card.dataset.job === j.id && ACTIVE.has(j.state) && ACTIVE.has(card.dataset.state)) {
    card.dataset.state = j.state;
    setHTML(card.querySelector(".card-title"), cardTitle(j));
    const p = progressOf(j);
    const bar = card.querySelector(".bar");
    bar.setAttribute("aria-valuenow", String(p.percent));
    bar.setAttribute("aria-valuetext", p.text);
    bar.firstElementChild.style.width = p.percent + "%";
    const txt = card.querySelector(".progress-text");
    if (txt.textContent !== p.text) txt.textContent = p.text;
    showCancel(card, j);
    return;
  }
  setHTML(td, jobCard(j));
  const fill = td.querySelector(".bar > div");
  if (fill) fill.style.width = progressOf(j).percent + "%";
}

// driftBadge shows, beside a fabric's name, how many files of managed/ were changed by hand
// since the manifest (drift_files, per the last check). Its title lists them once GET /drift
// was asked (on hover or click); a click also shows the list below it.
function driftBadge(f) {
  const n = num(f.drift_files);
  if (n <= 0) return "";
  const got = state.drift[f.name];
  const d = got && (got.files || got.error) ? got : null; // null until an answer came
  const open = state.driftOpen === f.name && d && !d.error;
  return ` <button type="button" class="drift" data-drift="${esc(f.name)}" aria-expanded="${open}" ` +
    `title="${esc(driftTitle(f.name, n, d))}">${plural(n, "file")} drifted</button>` +
    (open ? driftList(d) : "");
}

function driftTitle(name, n, d) {
  const head = `${plural(n, "file")} of managed/ in ${name} changed by hand since the last sync`;
  if (!d) return head + ". Click to list them.";
  if (d.error) return head + `. Could not list them: ${d.error}`;
  const files = Array.isArray(d.files) ? d.files : [];
  const when = d.checked_at ? `checked ${fmtTime(d.checked_at)}` : "not checked yet";
  return `${head} (${when}${d.mode ? ", mode " + d.mode : ""}):\n` +
    (files.length ? files.map(x => `${x.path ?? ""}: ${x.kind ?? ""}, ${x.action ?? ""}`).join("\n") : "(no files listed)");
}

function driftList(d) {
  const files = Array.isArray(d.files) ? d.files : [];
  return `<div class="drift-pop"><p>${d.checked_at ? "Checked " + esc(fmtTime(d.checked_at)) : "Not checked yet"}` +
    `${d.mode ? `, mode <code>${esc(d.mode)}</code>` : ""}${d.job_id ? `, by job <code>${esc(d.job_id)}</code>` : ""}:</p>` +
    `<ul class="drift-files">${files.map(x => `<li><code>${esc(x.path)}</code> <span class="drift-kind">${esc(x.kind)}</span>` +
      ` <span class="muted">${esc(x.action)}</span></li>`).join("") || `<li class="muted">no files listed</li>`}</ul></div>`;
}

// loadDrift asks for a fabric's drift, at most every 10 s.
async function loadDrift(fabric) {
  const d = state.drift[fabric];
  if (d && (d.loading || Date.now() - d.at < 10000)) return;
  state.drift[fabric] = Object.assign({}, d, { loading: true, at: Date.now() });
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/drift");
    state.drift[fabric] = Object.assign({}, body, { at: Date.now() });
  } catch (e) {
    state.drift[fabric] = { error: e.message, at: Date.now() };
  }
  showDrift(fabric);
}

// showDrift brings a fabric's drift badge up to date once its drift was loaded: in place while
// its list is closed (a hover loads it, and replacing the button under the pointer would swallow
// a click that is under way), by rendering the table when the list is open.
function showDrift(fabric) {
  const f = state.fabrics.find(x => x.name === fabric);
  const row = document.getElementById("fabric-" + fabric);
  const b = row && row.querySelector("button.drift");
  if (state.driftOpen === fabric || !f || !b) {
    renderFabrics();
    return;
  }
  const got = state.drift[fabric];
  b.title = driftTitle(fabric, num(f.drift_files), got && (got.files || got.error) ? got : null);
  row.querySelector(".name").dataset.html = nameCell(f); // now what the cell shows
}

// nameCell is the HTML of a fabric's name cell: the name, which opens its job history, and its
// drift badge.
function nameCell(f) {
  return `<button type="button" class="link" data-fabric="${esc(f.name)}" aria-controls="detail"
      title="Show the job history of ${esc(f.name)}">${esc(f.name)}</button>` + driftBadge(f);
}

async function toggleDrift(fabric) {
  state.driftOpen = state.driftOpen === fabric ? null : fabric;
  renderFabrics();
  await loadDrift(fabric);
}

function renderFabrics() {
  const tbody = document.querySelector("#fabrics tbody");
  if (!state.fabrics.length) {
    tbody.dataset.key = "";
    setHTML(tbody, `<tr><td colspan="7" class="muted">No fabrics are configured (see fabsync.yaml).</td></tr>`);
    return;
  }
  const key = state.fabrics.map(f => f.name).join("\n");
  if (tbody.dataset.key !== key) {
    tbody.innerHTML = state.fabrics.map(f => {
      const n = esc(f.name);
      return `<tr id="fabric-${n}" class="fabric">
        <th scope="row" class="name"></th><td class="repo"></td><td class="branch"></td><td class="path"></td>
        <td class="resync"></td><td class="last"></td>
        <td class="action"><button type="button" class="preview secondary" id="preview-${n}" data-fabric="${n}">Preview</button>
          <button type="button" class="sync" id="sync-${n}" data-fabric="${n}">Sync from Git</button></td>
      </tr>
      <tr class="jobrow" id="jobrow-${n}" hidden><td colspan="7" id="job-${n}"></td></tr>`;
    }).join("");
    tbody.dataset.key = key;
    delete tbody.dataset.html;
  }
  for (const f of state.fabrics) {
    const row = document.getElementById("fabric-" + f.name);
    const j = f.latest_job;
    const cell = c => row.querySelector("." + c);
    setHTML(cell("name"), nameCell(f));
    setHTML(cell("repo"), esc(withoutCredentials(f.repo)));
    setHTML(cell("branch"), esc(f.branch));
    setHTML(cell("path"), f.path ? esc(f.path) : `<span class="muted">(root)</span>`);
    setHTML(cell("resync"), esc(fmtResync(f.resync)));
    setHTML(cell("last"), j ? `${stateBadge(j.state)}${j.dry_run ? ` <span class="tag dryrun">dry run</span>` : ""} <span class="muted">${esc(fmtTime(j.finished_at || j.started_at || j.created_at))}</span>`
      : `<span class="muted">never</span>`);
    const btn = document.getElementById("sync-" + f.name);
    const pending = state.pending[f.name];
    const busy = pending || (j && ACTIVE.has(j.state));
    // previewing: the job that makes the fabric busy is a dry run.
    const previewing = pending ? pending === "preview" : Boolean(busy && j && j.dry_run);
    const label = !busy || previewing ? "Sync from Git" : (!j || pending || j.state === "queued") ? "Queued…" : "Sync running…";
    btn.disabled = Boolean(busy);
    if (btn.textContent !== label) btn.textContent = label;
    btn.title = previewing ? `A preview of ${f.name} is queued or running`
      : busy ? `A sync of ${f.name} is already queued or running` : `Fetch ${f.name}'s repository and ingest its raw files`;
    const pbtn = document.getElementById("preview-" + f.name);
    const plabel = previewing ? "Previewing…" : "Preview";
    pbtn.disabled = Boolean(busy);
    if (pbtn.textContent !== plabel) pbtn.textContent = plabel;
    pbtn.title = busy ? `A job of ${f.name} is queued or running`
      : `Show what a sync of ${f.name} would change, file by file, without pushing anything`;
    updateCard(f.name, j);
  }
}

// newer returns the more recent view of a fabric's latest job: refresh and the job poller race.
function newer(a, b) {
  if (!a) return b;
  if (!b) return a;
  if (a.id === b.id) return String(b.updated_at || "") >= String(a.updated_at || "") ? b : a;
  return String(b.created_at || "") >= String(a.created_at || "") ? b : a;
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const { body } = await api("/api/v1/fabrics");
    const old = new Map(state.fabrics.map(f => [f.name, f]));
    state.fabrics = (body.fabrics || []).map(f => {
      const o = old.get(f.name);
      if (o) f.latest_job = newer(o.latest_job, f.latest_job);
      return f;
    });
    if (state.bannerKind === "load" || state.bannerKind === "token") banner("");
    renderConfig(body.config);
    renderFabrics();
    for (const f of state.fabrics) {
      if (f.latest_job && ACTIVE.has(f.latest_job.state)) watch(f.name, f.latest_job.id);
    }
    if (state.selected) loadHistory(state.selected);
  } catch (e) {
    if (!(e instanceof Unauthorized)) banner(esc("Could not load the fabrics: " + e.message), "load");
  } finally {
    state.refreshing = false;
  }
}

// watch polls a job until it ends, updating its fabric's row, and the log if it is shown.
function watch(fabric, id) {
  if (state.polling[fabric] === id) return;
  state.polling[fabric] = id;
  const tick = async () => {
    if (state.polling[fabric] !== id) return;
    try {
      const { body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id));
      const f = state.fabrics.find(x => x.name === fabric);
      if (f) f.latest_job = newer(f.latest_job, j);
      renderFabrics();
      if (state.logJob === id) renderLog(j);
      if (ACTIVE.has(j.state)) { setTimeout(tick, 500); return; }
      if (state.polling[fabric] === id) delete state.polling[fabric];
      if (state.selected === fabric) loadHistory(fabric);
      // A follow-up job may have been queued meanwhile.
      if (f && f.latest_job && f.latest_job.id !== id && ACTIVE.has(f.latest_job.state)) watch(fabric, f.latest_job.id);
    } catch (e) {
      if (e instanceof Unauthorized) { delete state.polling[fabric]; return; }
      setTimeout(tick, 2000);
    }
  };
  tick();
}

// sync starts a sync of the fabric, or with preview a dry run (POST {"dry_run": true}), and
// follows it on the fabric's card.
async function sync(fabric, preview = false) {
  state.pending[fabric] = preview ? "preview" : "sync";
  renderFabrics();
  const what = preview ? "a preview" : "a sync";
  try {
    const opts = preview
      ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ dry_run: true }) }
      : { method: "POST" };
    const { body: j } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/sync", opts);
    delete state.pending[fabric];
    if (preview && j && j.dry_run !== true) {
      // A server without dry runs refuses the body; one that ignored it would run a real sync.
      banner(esc(`Asked for a preview of ${fabric}, but the server started job ${j.id}, which is not a dry run: ` +
        "this server does not support previews."), "action");
    }
    const f = state.fabrics.find(x => x.name === fabric);
    if (f) f.latest_job = newer(f.latest_job, j);
    else if (state.bannerKind === "action") banner("");
    renderFabrics();
    watch(fabric, j.id);
    if (state.selected === fabric) loadHistory(fabric);
  } catch (e) {
    delete state.pending[fabric];
    renderFabrics();
    if (!(e instanceof Unauthorized)) banner(esc("Could not start " + what + " of " + fabric + ": " + e.message), "action");
  }
}

async function cancel(btn) {
  btn.disabled = true;
  btn.textContent = "Canceling…";
  try {
    await api("/api/v1/jobs/" + encodeURIComponent(btn.dataset.job) + "/cancel", { method: "POST" });
  } catch (e) {
    btn.disabled = false;
    btn.textContent = "Cancel";
    if (!(e instanceof Unauthorized)) banner(esc("Could not cancel: " + e.message), "action");
  }
}

async function loadHistory(fabric) {
  const first = state.selected !== fabric;
  state.selected = fabric;
  const detail = document.getElementById("detail");
  detail.hidden = false;
  document.getElementById("detail-name").textContent = fabric;
  if (first) {
    state.logJob = null;
    document.getElementById("joblog").hidden = true;
    document.getElementById("jobdetail").hidden = true;
    setHTML(document.querySelector("#history tbody"), `<tr><td colspan="7" class="muted">Loading…</td></tr>`);
  }
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/jobs?limit=50");
    if (state.selected !== fabric) return;
    const jobs = body.jobs || [];
    setHTML(document.querySelector("#history tbody"), jobs.map(j => `<tr data-job="${esc(j.id)}"${j.id === state.logJob ? ` class="selected"` : ""}>
      <td><code>${esc(j.id)}</code></td><td>${esc(j.trigger)}</td><td>${stateBadge(j.state)}</td>
      <td>${esc(fmtTime(j.started_at || j.created_at))}</td><td>${ACTIVE.has(j.state) ? "running…" : esc(duration(j))}</td>
      <td>${num((j.git_sync || {}).attempts)} / ${num((j.ingest || {}).attempts)}</td>
      <td><button type="button" class="link showlog" data-job="${esc(j.id)}" aria-controls="jobdetail joblog"
        aria-label="Show the problems and the log of job ${esc(j.id)}">details</button></td></tr>`).join("") ||
      `<tr><td colspan="7" class="muted">No jobs yet.</td></tr>`);
    if (first) detail.scrollIntoView({ block: "nearest" });
  } catch (e) {
    if (!(e instanceof Unauthorized)) banner(esc("Could not load the jobs of " + fabric + ": " + e.message), "action");
  }
}

// logTime shows a log line's time in UTC to the millisecond.
function logTime(t) {
  const d = new Date(t);
  return isNaN(d) ? String(t ?? "") : d.toISOString().replace("T", " ");
}

function renderLog(j) {
  renderDetail(j);
  const pre = document.getElementById("joblog");
  const lines = (j.log || []).map(l => `${logTime(l.time)}  ${l.message ?? ""}`);
  const text = `Log of job ${j.id} (${STATE_WORDS[j.state] || j.state})\n` + (lines.length ? lines.join("\n") : "(no lines yet)");
  if (pre.textContent !== text) pre.textContent = text;
  pre.hidden = false;
}

async function showLog(id) {
  try {
    const { body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id));
    state.logJob = id;
    for (const tr of document.querySelectorAll("#history tbody tr")) tr.classList.toggle("selected", tr.dataset.job === id);
    renderLog(j);
  } catch (e) {
    if (!(e instanceof Unauthorized)) banner(esc("Could not load the log: " + e.message), "action");
  }
}

// showJob opens a fabric's history and, in it, one job's problems and log.
async function showJob(fabric, id) {
  await loadHistory(fabric);
  await showLog(id);
  document.getElementById("jobdetail").scrollIntoView({ block: "start" });
}

document.addEventListener("click", ev => {
  const t = ev.target.closest("button");
  if (!t || t.disabled) return;
  if (t.matches("button.sync, button.syncnow")) sync(t.dataset.fabric);
  else if (t.matches("button.preview")) sync(t.dataset.fabric, true);
  else if (t.matches("button.drift")) toggleDrift(t.dataset.drift);
  else if (t.matches("button.cancel")) cancel(t);
  else if (t.matches("button[data-fabric]")) loadHistory(t.dataset.fabric);
  else if (t.matches("button.showlog")) showLog(t.dataset.job);
  else if (t.matches("button.showjob")) showJob(t.dataset.of, t.dataset.job);
});

// Hovering or focusing a drift badge lists the drifted files in its title.
for (const type of ["mouseover", "focusin"]) {
  document.addEventListener(type, ev => {
    const b = ev.target.closest && ev.target.closest("button.drift");
    if (b) loadDrift(b.dataset.drift);
  });
}

// A reloaded tab keeps its sessionStorage; renew the cookie from it.
if (sessionStorage.getItem(TOKEN_KEY)) setToken(sessionStorage.getItem(TOKEN_KEY));
refresh();
setInterval(() => { if (!document.getElementById("token-form")) refresh(); }, 5000);
