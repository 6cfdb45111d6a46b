// fabsync web UI: plain JavaScript over the JSON API (SPEC §4). No build step.
"use strict";

const TOKEN_KEY = "fabsync-token";
const ACTIVE = new Set(["queued", "syncing", "ingesting"]);
const state = { fabrics: [], polling: {}, selected: null };

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function api(path, opts = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
  const tok = sessionStorage.getItem(TOKEN_KEY);
  if (tok) headers["Authorization"] = "Bearer " + tok;
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) {
    askToken();
    throw new Error("an API token is required");
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error.message : res.statusText;
    throw new Error(msg);
  }
  return { status: res.status, body };
}

function banner(html) {
  const b = document.getElementById("banner");
  if (!html) { b.hidden = true; b.innerHTML = ""; return; }
  b.hidden = false;
  b.innerHTML = html;
}

function askToken() {
  if (document.getElementById("token-form")) return;
  banner(`<form id="token-form">This server needs an API token.
    <input type="password" id="token-input" placeholder="API token" autocomplete="off">
    <button type="submit">Use token</button></form>`);
  document.getElementById("token-form").addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
    banner("");
    refresh();
  });
}

function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleString();
}

function duration(j) {
  if (!j.started_at) return "";
  const end = j.finished_at ? new Date(j.finished_at) : new Date();
  const s = (end - new Date(j.started_at)) / 1000;
  return s < 60 ? s.toFixed(1) + " s" : Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}

function stateBadge(st) { return `<span class="state ${esc(st)}">${esc(st.replace("_", " "))}</span>`; }

function shortSha(s) { return s ? s.slice(0, 10) : ""; }

// summary describes a job in plain words.
function summary(j) {
  const g = j.git_sync || {}, i = j.ingest || {};
  const lines = [];
  switch (j.state) {
    case "succeeded":
      if (i.files === 0) {
        lines.push(`<p>Nothing to ingest: <code>raw/</code> holds no YAML. The repository is unchanged.</p>`);
      } else {
        lines.push(`<p>Synced <b>${i.files}</b> raw file(s), <b>${i.documents}</b> document(s): ` +
          `${i.created} created, ${i.updated} updated, ${i.unchanged} unchanged; ${i.archived} file(s) archived.` +
          (i.commit ? ` Pushed commit <code>${esc(shortSha(i.commit))}</code>.` : " No commit was needed.") + `</p>`);
      }
      break;
    case "partial_sync":
      lines.push(`<p>Git sync worked${g.commit ? " (at <code>" + esc(shortSha(g.commit)) + "</code>)" : ""}, then ingestion failed. ` +
        `<b>Nothing was changed in the repository.</b></p>`);
      if (i.errors && i.errors.length) {
        lines.push(`<div class="errors">` + i.errors.map(e =>
          esc(`${e.file}:${e.line}:${e.column} document ${e.document}: ${e.message}`)).join("\n") + `</div>`);
      } else if (i.error) {
        lines.push(`<div class="errors">${esc(i.error)}</div>`);
      }
      break;
    case "failed":
      lines.push(`<p>Failed: ${esc(j.reason || g.error || i.error || "unknown reason")}</p>`);
      break;
    case "canceled":
      lines.push(`<p>Canceled.</p>`);
      break;
  }
  if (i.warnings && i.warnings.length) {
    lines.push(`<div class="warnings">Warnings:<br>` + i.warnings.map(esc).join("<br>") + `</div>`);
  }
  return lines.join("");
}

function jobCard(j) {
  const running = ACTIVE.has(j.state);
  const p = j.progress || { percent: 0, message: "" };
  return `<div class="card" data-job="${esc(j.id)}" data-state="${esc(j.state)}">
    <h4>Job <code>${esc(j.id)}</code> ${stateBadge(j.state)} <span class="muted">${esc(j.trigger)}, ${esc(fmtTime(j.created_at))}</span></h4>
    ${running ? `<div class="bar" role="progressbar" aria-valuenow="${p.percent}" aria-valuemin="0" aria-valuemax="100"><div style="width:${p.percent}%"></div></div>
      <div class="progress-text">${esc(p.stage)} · ${p.percent}% · ${esc(p.message)}</div>
      <button class="danger cancel" data-job="${esc(j.id)}">Cancel</button>` : `<div class="result">${summary(j)}</div>`}
  </div>`;
}

function renderFabrics() {
  const tbody = document.querySelector("#fabrics tbody");
  if (!state.fabrics.length) {
    tbody.innerHTML = `<tr><td colspan="7" class="muted">No fabrics are configured (see fabsync.yaml).</td></tr>`;
    return;
  }
  tbody.innerHTML = state.fabrics.map(f => {
    const j = f.latest_job;
    const busy = j && ACTIVE.has(j.state);
    const label = busy ? (j.state === "queued" ? "Queued…" : "Sync running…") : "Sync from Git";
    return `<tr id="fabric-${esc(f.name)}">
      <td><a class="link" data-fabric="${esc(f.name)}">${esc(f.name)}</a></td>
      <td class="repo">${esc(f.repo)}</td><td>${esc(f.branch)}</td><td>${esc(f.path)}</td>
      <td>${esc(f.resync || "off")}</td>
      <td>${j ? stateBadge(j.state) + ` <span class="muted">${esc(fmtTime(j.finished_at || j.created_at))}</span>` : `<span class="muted">never</span>`}</td>
      <td><button class="sync" id="sync-${esc(f.name)}" data-fabric="${esc(f.name)}" ${busy ? "disabled" : ""}>${label}</button></td>
    </tr>
    <tr class="jobrow"><td colspan="7" id="job-${esc(f.name)}">${j ? jobCard(j) : ""}</td></tr>`;
  }).join("");
}

async function refresh() {
  try {
    const { body } = await api("/api/v1/fabrics");
    state.fabrics = body.fabrics;
    renderFabrics();
    for (const f of state.fabrics) {
      if (f.latest_job && ACTIVE.has(f.latest_job.state)) watch(f.name, f.latest_job.id);
    }
    if (state.selected) loadHistory(state.selected);
  } catch (e) {
    if (!document.getElementById("token-form")) banner(esc("Could not load fabrics: " + e.message));
  }
}

function watch(fabric, id) {
  if (state.polling[fabric] === id) return;
  state.polling[fabric] = id;
  const tick = async () => {
    if (state.polling[fabric] !== id) return;
    try {
      const { body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id));
      const f = state.fabrics.find(x => x.name === fabric);
      if (f) f.latest_job = j;
      renderFabrics();
      if (ACTIVE.has(j.state)) { setTimeout(tick, 500); return; }
      delete state.polling[fabric];
      if (state.selected === fabric) loadHistory(fabric);
    } catch (e) {
      setTimeout(tick, 2000);
    }
  };
  tick();
}

async function sync(fabric) {
  const btn = document.getElementById("sync-" + fabric);
  if (btn) { btn.disabled = true; btn.textContent = "Queued…"; }
  try {
    const { body: j } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/sync", { method: "POST" });
    const f = state.fabrics.find(x => x.name === fabric);
    if (f) f.latest_job = j;
    renderFabrics();
    watch(fabric, j.id);
  } catch (e) {
    banner(esc("Could not start a sync of " + fabric + ": " + e.message));
    refresh();
  }
}

async function cancel(id) {
  try { await api("/api/v1/jobs/" + encodeURIComponent(id) + "/cancel", { method: "POST" }); }
  catch (e) { banner(esc("Could not cancel: " + e.message)); }
}

async function loadHistory(fabric) {
  state.selected = fabric;
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-name").textContent = fabric;
  try {
    const { body } = await api("/api/v1/fabrics/" + encodeURIComponent(fabric) + "/jobs?limit=50");
    document.querySelector("#history tbody").innerHTML = body.jobs.map(j => `<tr>
      <td><code>${esc(j.id)}</code></td><td>${esc(j.trigger)}</td><td>${stateBadge(j.state)}</td>
      <td>${esc(fmtTime(j.started_at || j.created_at))}</td><td>${esc(duration(j))}</td>
      <td>${j.git_sync.attempts} / ${j.ingest.attempts}</td>
      <td><a class="link showlog" data-job="${esc(j.id)}">log</a></td></tr>`).join("") ||
      `<tr><td colspan="7" class="muted">No jobs yet.</td></tr>`;
  } catch (e) {
    banner(esc("Could not load jobs: " + e.message));
  }
}

async function showLog(id) {
  const pre = document.getElementById("joblog");
  try {
    const { body: j } = await api("/api/v1/jobs/" + encodeURIComponent(id));
    pre.hidden = false;
    pre.textContent = `job ${j.id} (${j.state})\n` + (j.log || []).map(l => `${l.time}  ${l.message}`).join("\n");
  } catch (e) {
    banner(esc("Could not load the log: " + e.message));
  }
}

document.addEventListener("click", ev => {
  const t = ev.target;
  if (t.matches("button.sync")) sync(t.dataset.fabric);
  else if (t.matches("button.cancel")) cancel(t.dataset.job);
  else if (t.matches("a[data-fabric]")) loadHistory(t.dataset.fabric);
  else if (t.matches("a.showlog")) showLog(t.dataset.job);
});

refresh();
setInterval(refresh, 5000);
