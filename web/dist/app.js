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
  selected: null, // fabric whose detail (history, inventory or topology) is shown
  view: "history", // which of the three views of the selected fabric is shown
  logJob: null,  // job whose log is shown
  historyTimer: 0, // the pending reload of the history while a job of it is active
  inv: null,     // the inventory view: {fabric, kind, q, page, seq, data}
  resource: null, // the resource file shown under the inventory: {fabric, path, sha, job}
  bannerKind: "",
  refreshing: false,
};

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// now is the UI's clock, in milliseconds: the one place that reads it for what depends on the
// time (durations, stalled jobs), so that a test can move it with window.fabsyncClockOffsetMs.
function now() {
  return Date.now() + num(window.fabsyncClockOffsetMs);
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

// APIError is an error answer of the API: its HTTP status and its error.code.
class APIError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

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

// api calls the API with the token; with opts.text the body of a success is returned as text
// (the topology's SVG), else decoded from JSON. An error answer throws an APIError.
async function api(path, opts = {}) {
  const asText = Boolean(opts.text);
  const headers = Object.assign({ "Accept": asText ? "image/svg+xml, application/json" : "application/json" }, opts.headers || {});
  const tok = sessionStorage.getItem(TOKEN_KEY);
  if (tok) headers["Authorization"] = "Bearer " + tok;
  const init = Object.assign({}, opts, { headers });
  delete init.text;
  const res = await fetch(path, init);
  let body = null;
  if (asText && res.ok) return { status: res.status, body: await res.text() };
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) {
    if (tok) setToken("");
    askToken(Boolean(tok));
    throw new Unauthorized("an API token is required");
  }
  if (!res.ok) {
    const err = body && body.error ? body.error : {};
    throw new APIError(err.message ? String(err.message) : res.status + " " + res.statusText, res.status, String(err.code || ""));
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
  const end = j.finished_at ? new Date(j.finished_at) : new Date(now());
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
  else if (!j.dry_run && changedFiles(j)) body = changesHTML(j, true) + body;
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
  const ch = !j.dry_run && changedFiles(j);
  if (ch) {
    out.push(`<p class="changes-link"><button type="button" class="link showjob" data-job="${esc(j.id)}" data-of="${esc(j.fabric)}" aria-controls="jobdetail">` +
      `Show the ${plural(ch.total, "resource file")} this job changed, with their diffs</button></p>`);
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
  const list = fileListHTML(files, open);
  const shown = list.shown;
  out.push(list.html);
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

// fileListHTML lists the files of a plan or of a job's changes, each with its action, path and
// added/removed counts, a changed file's diff in a <details> (unfolded when open). With link, a
// function of a file, the path is what link returns (a button that opens the file). It returns
// the HTML and how many diffs it shows.
function fileListHTML(files, open, link) {
  let shown = 0;
  if (!files.length) return { html: "", shown };
  const html = `<ul class="plan-files">` + files.map(f => {
    f = f || {};
    const path = (link && link(f)) || `<code class="path">${esc(f.path)}</code>`;
    const head = `${actionBadge(f.action)} ${path}` +
      (f.action === "unchanged" ? "" : ` <span class="muted lines">+${num(f.added)} −${num(f.removed)}</span>`);
    const item = `<li class="plan-file ${ACTIONS.has(f.action) ? esc(f.action) : ""}" data-path="${esc(f.path)}">`;
    if (f.action === "unchanged") return item + head + `</li>`;
    if (!f.diff) return item + head + ` <span class="muted">(diff not shown)</span></li>`;
    shown++;
    return item + `<details class="diff"${open ? " open" : ""}><summary>${head}</summary>` +
      `<pre class="diff">${diffHTML(f.diff)}</pre></details></li>`;
  }).join("") + `</ul>`;
  return { html, shown };
}

// changedFiles returns a job's changes (absent when it changed no file) and its changed files.
function changedFiles(j) {
  const c = j && j.changes && typeof j.changes === "object" ? j.changes : null;
  if (!c) return null;
  const files = (Array.isArray(c.files) ? c.files : []).filter(f => f && f.action !== "unchanged");
  const created = num(c.created), updated = num(c.updated), deleted = num(c.deleted);
  return { c, files, created, updated, deleted, total: created + updated + deleted };
}

// changesHTML shows what a finished job changed in the resource files: its summary and counts,
// then each created, updated or deleted file with its diff; the path of a file that still exists
// opens it, at the version the job wrote (its sha256), in the inventory view.
function changesHTML(j, open) {
  const ch = changedFiles(j);
  if (!ch) return "";
  const { c, files } = ch;
  const lines = files.reduce((n, f) => n + String(f.diff ?? "").split("\n").length, 0);
  const list = fileListHTML(files, open && files.length <= PLAN_OPEN && lines <= PLAN_OPEN_LINES, f =>
    f.action === "deleted" || !f.sha256 ? "" :
      `<button type="button" class="link openfile" data-of="${esc(j.fabric)}" data-path="${esc(f.path)}" data-sha="${esc(f.sha256)}" ` +
      `data-job="${esc(j.id)}" title="Open ${esc(f.path)} as job ${esc(j.id)} wrote it"><code class="path">${esc(f.path)}</code></button>`);
  return `<div class="changes" data-job="${esc(j.id)}"><p class="changes-counts">This job changed ${plural(ch.total, "resource file")}: ` +
    `<span class="act created">${ch.created} created</span> <span class="act updated">${ch.updated} updated</span> ` +
    `<span class="act deleted">${ch.deleted} deleted</span>` +
    (num(c.unchanged) ? ` <span class="act unchanged">${num(c.unchanged)} unchanged</span>` : "") + `</p>` +
    (c.summary ? `<p class="changes-summary">${esc(c.summary)}</p>` : "") + list.html +
    (c.truncated ? `<p class="plan-truncated">diffs truncated: ${plural(Math.max(0, files.length - list.shown), "file")} shown without a diff</p>` : "") +
    `</div>`;
}

// changesCell is the short form of a job's changes for the history table.
function changesCell(j) {
  if (j.dry_run) return `<span class="tag dryrun">dry run</span>`;
  const ch = changedFiles(j);
  if (!ch) return ACTIVE.has(j.state) ? "" : `<span class="muted">none</span>`;
  const parts = [];
  for (const a of ["created", "updated", "deleted"]) if (ch[a]) parts.push(`<span class="act ${a}">${ch[a]} ${a}</span>`);
  return parts.join(" ") || `<span class="muted">none</span>`;
}

// stalledFor returns for how many milliseconds an active job's progress has not moved, when
// that is longer than its running stage's timeout (progress.timeout_seconds); else 0.
function stalledFor(j) {
  if (!j || (j.state !== "syncing" && j.state !== "ingesting")) return 0;
  const p = j.progress || {};
  const limit = num(p.timeout_seconds) * 1000;
  const at = Date.parse(p.updated_at || "");
  if (!(limit > 0) || isNaN(at)) return 0;
  const idle = now() - at;
  return idle > limit ? idle : 0;
}

// span is a duration in words: "45 s", "17 min", "2 h 5 min".
function span(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min";
  return Math.floor(m / 60) + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
}

// liveNotes says what is special about an active job now: a cancel asked for that has not
// taken effect yet, and a stalled stage.
function liveNotes(j) {
  const out = [];
  if (!j || !ACTIVE.has(j.state)) return out;
  if (j.cancel_requested) {
    out.push({ cls: "canceling", text: "canceling…", title: "A cancel was asked for; it takes effect at the job's next step" });
  }
  const idle = stalledFor(j);
  if (idle) {
    const t = num((j.progress || {}).timeout_seconds);
    out.push({ cls: "stalled", text: `stalled: no progress for ${span(idle)}`,
      title: `Its progress has not moved for longer than the stage's timeout (${span(t * 1000)}); the server ends it once its task is past its deadline` });
  }
  return out;
}

function liveHTML(j) {
  return liveNotes(j).map(n => `<span class="live ${n.cls}" title="${esc(n.title)}">${esc(n.text)}</span>`).join(" ");
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
    <div class="live-note" aria-live="polite">${liveHTML(j)}</div>
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
    setHTML(card.querySelector(".live-note"), liveHTML(j));
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

// VIEWS are the views of a fabric's detail, in the order of their buttons.
const VIEWS = { history: "History", inventory: "Inventory", topology: "Topology" };

// nameCell is the HTML of a fabric's name cell: the name, which opens its job history, its
// drift badge, and a button per view of its detail (history, inventory, topology).
function nameCell(f) {
  const n = esc(f.name);
  return `<button type="button" class="link" data-fabric="${n}" aria-controls="detail"
      title="Show the job history of ${n}">${n}</button>` + driftBadge(f) +
    `<span class="views">` + Object.entries(VIEWS).map(([v, word]) =>
      `<button type="button" class="view secondary" data-view="${v}" data-of="${n}" aria-controls="detail"` +
      ` title="Show the ${word.toLowerCase()} of ${n}">${word}</button>`).join("") + `</span>`;
}

// urlHTML escapes a URL (or a file path) and lets it wrap only after a '/': each part between
// two is kept on one line (a browser would break it after a '-'), and a <wbr> follows each '/'.
function urlHTML(u) {
  return String(u ?? "").split("/").map(part => part ? `<span class="seg">${esc(part)}</span>` : "").join("/<wbr>");
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
    setHTML(cell("repo"), urlHTML(withoutCredentials(f.repo)));
    setHTML(cell("branch"), esc(f.branch));
    setHTML(cell("path"), f.path ? esc(f.path) : `<span class="muted">(root)</span>`);
    setHTML(cell("resync"), esc(fmtResync(f.resync)));
    const live = j ? liveHTML(j) : "";
    setHTML(cell("last"), j ? `${stateBadge(j.state)}${j.dry_run ? ` <span class="tag dryrun">dry run</span>` : ""} <span class="muted">${esc(fmtTime(j.finished_at || j.started_at || j.created_at))}</span>` +
      (live ? ` ${live}` : "") : `<span class="muted">never</span>`);
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
      if (state.selected === fabric) {
        loadHistory(fabric);
        // What the job published is now the inventory and the drawing.
        if (state.view === "inventory") loadInventory(fabric);
        else if (state.view === "topology") loadTopology(fabric);
      }
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
    if (state.bannerKind === "info") banner("");
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

// cancel asks the server to cancel the job of the button (on a job card or in the history).
// A job that ended meanwhile (409 job_ended) is no error: the button goes back, the page says
// so and shows the job as it ended.
async function cancel(btn) {
  const id = btn.dataset.job;
  btn.disabled = true;
  btn.textContent = "Canceling…";
  try {
    await api("/api/v1/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST" });
  } catch (e) {
    btn.disabled = false;
    btn.textContent = "Cancel";
    if (e instanceof Unauthorized) return;
    if (e.code === "job_ended") await jobEnded(id);
    else banner(esc("Could not cancel: " + e.message), "action");
  }
}

// jobEnded says that a job someone tried to cancel had already ended, and shows it as it ended.
async function jobEnded(id) {
  let j = null;
  try {
    ({ body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id)));
  } catch (e) {
    j = null;
  }
  const st = j ? STATE_WORDS[j.state] || j.state : "";
  banner(esc(`job ${id} already ended${st ? ` (${st})` : ""}; nothing to cancel`), "info");
  if (!j) return;
  const f = state.fabrics.find(x => x.name === j.fabric);
  if (f) f.latest_job = newer(f.latest_job, j);
  renderFabrics();
  if (state.selected === j.fabric) loadHistory(j.fabric);
  if (state.logJob === id) renderLog(j);
}

// showDetail opens a view (history, inventory or topology) of a fabric below the fabrics.
async function showDetail(fabric, view) {
  if (!VIEWS[view]) view = "history";
  const other = state.selected !== fabric;
  const moved = other || state.view !== view;
  if (other) {
    state.logJob = null;
    state.inv = null;
    state.resource = null;
    document.getElementById("joblog").hidden = true;
    document.getElementById("jobdetail").hidden = true;
    document.getElementById("resource").hidden = true;
    setHTML(document.querySelector("#history tbody"), `<tr><td colspan="8" class="muted">Loading…</td></tr>`);
    document.getElementById("topology").replaceChildren();
    delete document.getElementById("topology").dataset.fabric;
  }
  state.selected = fabric;
  state.view = view;
  const detail = document.getElementById("detail");
  detail.hidden = false;
  document.getElementById("detail-name").textContent = fabric;
  document.getElementById("detail-view").textContent = VIEWS[view];
  for (const b of document.querySelectorAll("#detail .tabs button.tab")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  for (const v of Object.keys(VIEWS)) document.getElementById("view-" + v).hidden = v !== view;
  if (moved) detail.scrollIntoView({ block: "nearest" });
  if (view === "history") await loadHistory(fabric);
  else if (view === "inventory") await loadInventory(fabric);
  else await loadTopology(fabric);
}

// loadHistory brings the history of the selected fabric up to date; while one of its jobs is
// active it does so again every second (the job poller covers only the latest job).
async function loadHistory(fabric) {
  if (state.selected !== fabric) return;
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/jobs?limit=50");
    if (state.selected !== fabric) return;
    const jobs = body.jobs || [];
    setHTML(document.querySelector("#history tbody"), jobs.map(historyRow).join("") ||
      `<tr><td colspan="8" class="muted">No jobs yet.</td></tr>`);
    if (jobs.some(j => ACTIVE.has(j.state))) pollHistory(fabric);
    const shown = jobs.find(j => j.id === state.logJob);
    if (shown && ACTIVE.has(shown.state)) renderLog(shown);
  } catch (e) {
    if (!(e instanceof Unauthorized)) banner(esc("Could not load the jobs of " + fabric + ": " + e.message), "action");
  }
}

function pollHistory(fabric) {
  if (state.historyTimer) return;
  state.historyTimer = setTimeout(() => {
    state.historyTimer = 0;
    if (state.selected === fabric) loadHistory(fabric);
  }, 1000);
}

function historyRow(j) {
  const id = esc(j.id);
  const running = ACTIVE.has(j.state);
  const live = liveHTML(j);
  const cancelBtn = !running ? "" : j.cancel_requested
    ? ` <button type="button" class="danger cancel small" data-job="${id}" disabled>Canceling…</button>`
    : ` <button type="button" class="danger cancel small" data-job="${id}">Cancel</button>`;
  return `<tr data-job="${id}"${j.id === state.logJob ? ` class="selected"` : ""}>
      <td><code>${id}</code></td><td>${esc(j.trigger)}</td><td class="jobstate">${stateBadge(j.state)}${live ? " " + live : ""}</td>
      <td>${esc(fmtTime(j.started_at || j.created_at))}</td><td>${running ? "running… " + esc(progressOf(j).text) : esc(duration(j))}</td>
      <td>${num((j.git_sync || {}).attempts)} / ${num((j.ingest || {}).attempts)}</td><td class="jobchanges">${changesCell(j)}</td>
      <td class="jobactions"><button type="button" class="link showlog" data-job="${id}" aria-controls="jobdetail joblog"
        aria-label="Show the problems, changes and log of job ${id}">details</button>${cancelBtn}</td></tr>`;
}

// logTime shows a log line's time in UTC to the millisecond.
function logTime(t) {
  const d = new Date(t);
  return isNaN(d) ? String(t ?? "") : d.toISOString().replace("T", " ");
}

// renderLog shows a job's log, one line per entry; a "cancel requested" line is marked and
// scrolled into the log's view, and an active job's log follows its newest line.
function renderLog(j) {
  renderDetail(j);
  const pre = document.getElementById("joblog");
  const log = j.log || [];
  const lines = log.map(l => `${logTime(l.time)}  ${l.message ?? ""}`);
  const head = `Log of job ${j.id} (${STATE_WORDS[j.state] || j.state})`;
  const text = head + "\n" + (lines.length ? lines.join("\n") : "(no lines yet)");
  pre.hidden = false;
  if (pre.dataset.text === text) return;
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.innerHTML = esc(head) + "\n" + (lines.length ? lines.map((l, i) =>
    `<span class="logline${/^cancel/i.test(String(log[i].message ?? "")) ? " cancel-line" : ""}">${esc(l)}</span>`).join("\n") : "(no lines yet)");
  pre.dataset.text = text;
  const marks = pre.querySelectorAll(".cancel-line");
  const mark = marks[0];
  if (mark) {
    const top = mark.offsetTop, bottom = top + mark.offsetHeight;
    if (top < pre.scrollTop || bottom > pre.scrollTop + pre.clientHeight) pre.scrollTop = Math.max(0, top - pre.clientHeight / 3);
  } else if (atEnd || ACTIVE.has(j.state)) {
    pre.scrollTop = pre.scrollHeight;
  }
}

async function showLog(id) {
  try {
    const { body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id));
    state.logJob = id;
    for (const tr of document.querySelectorAll("#history tbody tr")) tr.classList.toggle("selected", tr.dataset.job === id);
    delete document.getElementById("joblog").dataset.text;
    renderLog(j);
  } catch (e) {
    if (!(e instanceof Unauthorized)) banner(esc("Could not load the log: " + e.message), "action");
  }
}

// showJob opens a fabric's history and, in it, one job's problems, changes and log.
async function showJob(fabric, id) {
  await showDetail(fabric, "history");
  await showLog(id);
  document.getElementById("jobdetail").scrollIntoView({ block: "start" });
}

// INV_PER_PAGE is how many resources a page of the inventory lists.
const INV_PER_PAGE = 50;

// loadInventory loads the page of the selected fabric's inventory that state.inv asks for
// (kind, search, page) and shows it.
async function loadInventory(fabric) {
  if (state.selected !== fabric) return;
  if (!state.inv || state.inv.fabric !== fabric) state.inv = { fabric, kind: "", q: "", page: 1, seq: 0, data: null };
  const inv = state.inv;
  const input = document.getElementById("inv-q");
  if (input.value !== inv.q && document.activeElement !== input) input.value = inv.q;
  const qs = new URLSearchParams({ page: String(inv.page), per_page: String(INV_PER_PAGE) });
  if (inv.kind) qs.set("kind", inv.kind);
  if (inv.q) qs.set("q", inv.q);
  const seq = ++inv.seq;
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/resources?" + qs);
    if (state.inv !== inv || seq !== inv.seq) return; // a newer question was asked
    inv.data = body || {};
    renderInventory();
  } catch (e) {
    if (e instanceof Unauthorized || state.inv !== inv || seq !== inv.seq) return;
    setHTML(document.getElementById("inv-head"), `<span class="error">${esc("Could not load the inventory of " + fabric + ": " + e.message)}</span>`);
  }
}

function renderInventory() {
  const inv = state.inv, d = inv.data || {};
  const fabric = inv.fabric;
  const counts = d.counts && typeof d.counts === "object" ? d.counts : {};
  const kinds = Object.keys(counts).sort();
  const list = Array.isArray(d.resources) ? d.resources : [];
  const synced = Boolean(d.commit);
  setHTML(document.getElementById("inv-head"), !synced
    ? `<span class="muted">${esc(fabric)} has no inventory yet: it has not been synced.</span>`
    : `${plural(d.total, "resource")} in <code>managed/</code> and <code>unmanaged/</code> at commit ` +
      `<code class="commit" title="${esc(d.commit)}">${esc(shortSha(d.commit))}</code>` +
      (d.job_id ? `, published by job <button type="button" class="link showjob" data-job="${esc(d.job_id)}" data-of="${esc(fabric)}"><code>${esc(d.job_id)}</code></button>` : "") +
      (d.updated_at ? ` <span class="muted">${esc(fmtTime(d.updated_at))}</span>` : ""));
  setHTML(document.getElementById("inv-counts"), !kinds.length ? "" :
    `<button type="button" class="kind" data-kind="" aria-pressed="${!inv.kind}">All <span class="n">${num(d.total)}</span></button>` +
    kinds.map(k => `<button type="button" class="kind" data-kind="${esc(k)}" aria-pressed="${inv.kind === k}">${esc(k)} <span class="n">${num(counts[k])}</span></button>`).join(""));
  document.getElementById("inv-search").hidden = !synced;
  setHTML(document.querySelector("#inventory tbody"), list.map(r => {
    const open = state.resource && state.resource.path === r.path;
    return `<tr class="res${open ? " selected" : ""}" data-path="${esc(r.path)}" data-sha="${esc(r.sha256)}">` +
      `<td class="kind">${esc(r.kind)}</td>` +
      `<td class="resname"><button type="button" class="link openres" data-path="${esc(r.path)}" data-sha="${esc(r.sha256)}" ` +
      `title="Show the normalized YAML of ${esc(r.kind)} ${esc(r.name)}">${esc(r.name)}</button></td>` +
      `<td class="ns">${r.namespace ? esc(r.namespace) : `<span class="muted">—</span>`}</td>` +
      `<td class="file"><code>${urlHTML(r.path)}</code></td>` +
      `<td class="lastjob">${r.job_id ? `<button type="button" class="link showjob" data-job="${esc(r.job_id)}" data-of="${esc(fabric)}"><code>${esc(r.job_id)}</code></button>` : ""}</td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">${synced ? "No resource matches." : "Nothing to list yet."}</td></tr>`);
  const page = Math.max(1, num(d.page) || inv.page), per = num(d.per_page) || INV_PER_PAGE, matched = num(d.matched);
  const first = matched ? (page - 1) * per + 1 : 0, last = Math.min(matched, (page - 1) * per + list.length);
  setHTML(document.getElementById("inv-pages"), !synced ? "" :
    `<span class="muted">${matched ? `${first}–${last} of ${matched} ${matched === 1 ? "match" : "matches"}` : "no matches"}` +
    `${matched !== num(d.total) ? ` (of ${num(d.total)})` : ""}</span>` +
    (page > 1 ? ` <button type="button" class="secondary invpage" data-page="${page - 1}">Previous</button>` : "") +
    (last < matched ? ` <button type="button" class="secondary invpage" data-page="${page + 1}">Next</button>` : ""));
}

// openResource shows a resource file's normalized YAML below the inventory: the current
// version, or with sha the one of that hash; with job, the job's diff of it too.
async function openResource(fabric, path, sha, job) {
  state.resource = { fabric, path, sha, job };
  for (const tr of document.querySelectorAll("#inventory tbody tr")) tr.classList.toggle("selected", tr.dataset.path === path);
  const box = document.getElementById("resource");
  box.hidden = false;
  setHTML(box, `<h3 class="card-title"><code class="path">${esc(path)}</code></h3><p class="muted">Loading…</p>`);
  const qs = new URLSearchParams({ path });
  if (sha) qs.set("sha256", sha);
  try {
    const [{ body: f }, j] = await Promise.all([
      api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/file?" + qs),
      job ? api("/api/v1/jobs/" + encodeURIComponent(job)).then(r => r.body, () => null) : null,
    ]);
    if (state.resource.path !== path || state.resource.sha !== sha) return;
    const change = j && j.changes && Array.isArray(j.changes.files) ? j.changes.files.find(x => x && x.path === path) : null;
    setHTML(box, `<h3 class="card-title"><code class="path">${esc(f.path)}</code> ` +
      (f.current ? `<span class="tag current">current</span>` : `<span class="tag older">an older version</span>`) +
      ` <button type="button" class="link closeres">close</button></h3>` +
      `<p class="muted res-meta">sha256 <code title="${esc(f.sha256)}">${esc(shortSha(f.sha256))}</code>` +
      (job ? `, as job <code>${esc(job)}</code> wrote it` : "") +
      (f.commit ? `; the inventory is at commit <code title="${esc(f.commit)}">${esc(shortSha(f.commit))}</code>` : "") + `</p>` +
      (change ? `<details class="diff res-diff" open><summary>${actionBadge(change.action)} What job <code>${esc(job)}</code> changed in it ` +
        `<span class="muted lines">+${num(change.added)} −${num(change.removed)}</span></summary>` +
        (change.diff ? `<pre class="diff">${diffHTML(change.diff)}</pre>` : `<p class="muted">(diff not shown)</p>`) + `</details>` : "") +
      `<pre class="yaml" tabindex="0" aria-label="Content of ${esc(f.path)}">${esc(f.content)}</pre>`);
  } catch (e) {
    if (e instanceof Unauthorized || state.resource.path !== path) return;
    const msg = e.code === "file_not_found"
      ? (sha ? `This version of ${path} is no longer kept, or the file is no longer in the inventory.` : `${path} is not in the inventory.`)
      : `Could not load ${path}: ${e.message}`;
    setHTML(box, `<h3 class="card-title"><code class="path">${esc(path)}</code> <button type="button" class="link closeres">close</button></h3>` +
      `<p class="error">${esc(msg)}</p>`);
  }
}

// openFile opens a file a job changed, at the version it wrote, in the fabric's inventory view,
// whose table is searched for the file's path.
async function openFile(fabric, path, sha, job) {
  await showDetail(fabric, "inventory");
  state.inv.q = path;
  state.inv.kind = "";
  state.inv.page = 1;
  document.getElementById("inv-q").value = path;
  await Promise.all([loadInventory(fabric), openResource(fabric, path, sha, job)]);
  document.getElementById("resource").scrollIntoView({ block: "nearest" });
}

// cleanSVG parses the server's topology drawing and returns it as a node of this page, without
// anything that could run or reach out (scripts, event handlers, links, foreign content) and
// without its <style> and style attributes, which the page's Content-Security-Policy refuses:
// style.css holds the drawing's stylesheet.
function cleanSVG(text) {
  // Dropped from the text before it is parsed: the parser applies the page's policy too (and
  // reports a violation for each). The server escapes every quote and '<' of its text, so these
  // patterns match markup only; what they miss, the loops below remove.
  const src = String(text).replace(/<style\b[\s\S]*?<\/style\s*>/gi, "")
    .replace(/\s(style|on[a-z]+)\s*=\s*("[^"]*"|'[^']*')/gi, "");
  const doc = new DOMParser().parseFromString(src, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    throw new Error("the server's drawing is not valid SVG");
  }
  for (const el of [...root.querySelectorAll("script, style, foreignObject, iframe, image, use, a")]) el.remove();
  for (const el of [root, ...root.querySelectorAll("*")]) {
    for (const a of [...el.attributes]) {
      if (/^on/i.test(a.name) || a.name === "style" || /href$/i.test(a.name)) el.removeAttribute(a.name);
    }
  }
  return document.importNode(root, true);
}

// loadTopology shows the selected fabric's wiring as the server draws it, inline, so that its
// nodes can be clicked (and focused: Enter shows their connections too).
async function loadTopology(fabric) {
  if (state.selected !== fabric) return;
  const box = document.getElementById("topology");
  const panel = document.getElementById("topo-panel");
  const width = Math.max(320, Math.min(1800, Math.round(box.clientWidth || 1200)));
  if (!box.firstElementChild) setHTML(panel, `<p class="muted">Loading the drawing…</p>`);
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/topology.svg?width=" + width, { text: true });
    if (state.selected !== fabric) return;
    const svg = cleanSVG(body);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Wiring of " + fabric);
    for (const g of svg.querySelectorAll("g.node")) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
    }
    const picked = box.querySelector("g.node.selected");
    box.replaceChildren(svg);
    box.dataset.fabric = fabric;
    const again = picked ? svg.querySelector("#" + CSS.escape(picked.id)) : null;
    if (again) selectNode(again);
    else setHTML(panel, `<p class="muted">Click a switch, server or gateway to list its connections. Hovering shows them too.</p>`);
  } catch (e) {
    if (e instanceof Unauthorized || state.selected !== fabric) return;
    box.replaceChildren();
    const msg = e.code === "no_topology" ? e.message || `${fabric} has no wiring to draw yet.` : `Could not load the topology of ${fabric}: ${e.message}`;
    setHTML(panel, `<p class="${e.code === "no_topology" ? "muted no-topology" : "error"}">${esc(msg)}</p>`);
  }
}

// selectNode marks a node of the drawing and lists, in the side panel, what its <title> says:
// its name, kind and role, then its connections.
function selectNode(g) {
  for (const x of document.querySelectorAll("#topology g.node.selected")) x.classList.remove("selected");
  g.classList.add("selected");
  const title = g.querySelector(":scope > title");
  const lines = String(title ? title.textContent : "").split("\n");
  const name = lines[0] || g.id.replace(/^node-/, "");
  const rest = lines.slice(1);
  const classes = g.getAttribute("class").split(/\s+/);
  const kind = ["switch", "server", "gateway"].find(k => classes.includes(k));
  const list = rest.findIndex(l => /connections?:$/.test(l));
  const about = list < 0 ? rest : rest.slice(0, list);
  const conns = list < 0 ? [] : rest.slice(list + 1);
  setHTML(document.getElementById("topo-panel"), `<h3 class="node-name">${esc(name)}</h3>` +
    about.map(l => `<p class="node-about">${esc(l)}</p>`).join("") +
    (list >= 0 ? `<p class="node-count">${esc(rest[list])}</p><ul class="node-conns">${conns.map(l => {
      const m = /^(.*?) \(([^)]*)\): (.*)$/.exec(l);
      return m ? `<li><code class="conn">${esc(m[1])}</code> <span class="conn-type">${esc(m[2])}</span><br><span class="ports">${esc(m[3])}</span></li>` : `<li>${esc(l)}</li>`;
    }).join("")}</ul>` : "") +
    (kind ? `<p><button type="button" class="link nodefile" data-of="${esc(state.selected)}" data-kind="${esc(kind[0].toUpperCase() + kind.slice(1))}" ` +
      `data-name="${esc(name)}">Find ${esc(name)} in the inventory</button></p>` : ""));
}

// findInInventory opens the inventory of a fabric, listing the resources of a kind that match q.
async function findInInventory(fabric, kind, q) {
  await showDetail(fabric, "inventory");
  Object.assign(state.inv, { kind, q, page: 1 });
  document.getElementById("inv-q").value = q;
  await loadInventory(fabric);
}

let searchTimer = 0;
document.getElementById("inv-q").addEventListener("input", ev => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    if (!state.inv) return;
    state.inv.q = ev.target.value.trim();
    state.inv.page = 1;
    loadInventory(state.inv.fabric);
  }, 200);
});
document.getElementById("inv-search").addEventListener("submit", ev => {
  ev.preventDefault();
  clearTimeout(searchTimer);
  if (!state.inv) return;
  state.inv.q = document.getElementById("inv-q").value.trim();
  state.inv.page = 1;
  loadInventory(state.inv.fabric);
});

document.addEventListener("click", ev => {
  const t = ev.target.closest("button");
  if (!t) {
    const node = ev.target.closest("#topology g.node");
    if (node) { selectNode(node); return; }
    const row = ev.target.closest("#inventory tbody tr[data-path]");
    if (row && state.inv) openResource(state.inv.fabric, row.dataset.path, "", "");
    return;
  }
  if (t.disabled) return;
  if (t.matches("button.sync, button.syncnow")) sync(t.dataset.fabric);
  else if (t.matches("button.preview")) sync(t.dataset.fabric, true);
  else if (t.matches("button.drift")) toggleDrift(t.dataset.drift);
  else if (t.matches("button.cancel")) cancel(t);
  else if (t.matches("button.view")) showDetail(t.dataset.of, t.dataset.view);
  else if (t.matches("#detail button.tab")) { if (state.selected) showDetail(state.selected, t.dataset.view); }
  else if (t.matches("button[data-fabric]")) showDetail(t.dataset.fabric, "history");
  else if (t.matches("button.showlog")) showLog(t.dataset.job);
  else if (t.matches("button.showjob")) showJob(t.dataset.of, t.dataset.job);
  else if (t.matches("button.openfile")) {
    ev.preventDefault(); // in a <summary>: opening the file does not fold its diff
    openFile(t.dataset.of, t.dataset.path, t.dataset.sha, t.dataset.job);
  }
  else if (t.matches("button.openres") && state.inv) openResource(state.inv.fabric, t.dataset.path, "", "");
  else if (t.matches("button.closeres")) { state.resource = null; document.getElementById("resource").hidden = true; renderInventory(); }
  else if (t.matches("button.kind") && state.inv) { Object.assign(state.inv, { kind: t.dataset.kind, page: 1 }); loadInventory(state.inv.fabric); }
  else if (t.matches("button.invpage") && state.inv) { state.inv.page = num(t.dataset.page) || 1; loadInventory(state.inv.fabric); }
  else if (t.matches("button.nodefile")) findInInventory(t.dataset.of, t.dataset.kind, t.dataset.name);
});

// A focused node of the drawing shows its connections on Enter or Space, like a click.
document.addEventListener("keydown", ev => {
  if (ev.key !== "Enter" && ev.key !== " ") return;
  const node = ev.target.closest && ev.target.closest("#topology g.node");
  if (!node) return;
  ev.preventDefault();
  selectNode(node);
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
