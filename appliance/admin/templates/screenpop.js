// Screen-pop: shows each handoff packet as it arrives (server-sent events).
// Everything is written with textContent: the packet holds the caller's own words.
"use strict";

const list = document.getElementById("packets");
const status = document.getElementById("status");
const empty = document.getElementById("empty");

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function slot(s) {
  return s ? `${when(s.start)} with ${s.provider}` : "";
}

function add(dl, label, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = label;
  dd.textContent = value;
  dl.append(dt, dd);
}

function show(p) {
  const card = document.createElement("article");
  card.className = "new";
  card.dataset.handoff = p.handoff_id;
  const title = document.createElement("h2");
  const who = p.caller.identified ? `${p.caller.name} (born ${p.caller.date_of_birth})` : "Caller not identified";
  title.textContent = `${who}: ${p.intent || "no intent"} (${p.reason})`;
  const dl = document.createElement("dl");
  add(dl, "Received", when(p.created_at));
  add(dl, "Reason", p.reason);
  add(dl, "Intent", p.intent);
  add(dl, "Workflow stage", p.stage);
  add(dl, "Identity attempts", p.caller.identity_attempts);
  for (const [name, value] of Object.entries(p.slots || {})) add(dl, `Said (${name})`, value);
  add(dl, "Appointment", slot(p.appointment));
  add(dl, "Offered", (p.offered || []).map(slot).join("; "));
  add(dl, "Chosen", slot(p.chosen));
  add(dl, "Actions", (p.actions || []).map((a) => `${a.action}: ${a.outcome}`).join(", "));
  add(dl, "Flags", (p.flags || []).join(", "));
  const c = p.confidences || {};
  if (c.understanding !== null && c.understanding !== undefined) {
    add(dl, "Confidence", `${c.understanding.toFixed(2)} (lowest ${(c.lowest ?? c.understanding).toFixed(2)}, ${c.source})`);
  }
  add(dl, "Handoff id", p.handoff_id);
  add(dl, "Call id", p.call_id);
  card.append(title, dl);
  list.prepend(card);
  empty.hidden = true;
  setTimeout(() => card.classList.remove("new"), 30000);
}

const source = new EventSource("/screenpop/events");
source.addEventListener("open", () => { status.textContent = "Live"; });
source.addEventListener("error", () => { status.textContent = "Reconnecting…"; });
source.addEventListener("handoff", (event) => show(JSON.parse(event.data)));
