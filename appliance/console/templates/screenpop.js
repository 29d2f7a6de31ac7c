// The console's screen-pop: each handoff packet as it arrives (server-sent events), for
// the signed-in user. Everything is written with textContent: a packet holds the
// caller's own words. No inline script or style (the console's CSP allows neither).
"use strict";

const list = document.getElementById("packets");
const status = document.getElementById("status");
const empty = document.getElementById("empty");
const signedOut = document.getElementById("signed-out");

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
  card.className = "handoff";
  card.dataset.handoff = p.handoff_id;
  const caller = p.caller || {};
  const title = document.createElement("h2");
  const who = caller.identified ? `${caller.name} (born ${caller.date_of_birth})` : "Caller not identified";
  title.textContent = `${who}: ${p.intent || "no intent"} (${p.reason})`;
  const dl = document.createElement("dl");
  dl.className = "facts";
  add(dl, "Received", when(p.created_at));
  add(dl, "Reason", p.reason);
  add(dl, "Intent", p.intent);
  add(dl, "Workflow stage", p.stage);
  add(dl, "Identity attempts", caller.identity_attempts);
  for (const [name, value] of Object.entries(p.slots || {})) add(dl, `Said (${name})`, value);
  add(dl, "Appointment", slot(p.appointment));
  add(dl, "Offered", (p.offered || []).map(slot).join("; "));
  add(dl, "Chosen", slot(p.chosen));
  add(dl, "Actions", (p.actions || []).map((a) => `${a.action}: ${a.outcome}`).join(", "));
  add(dl, "Flags", (p.flags || []).join(", "));
  add(dl, "Handoff id", p.handoff_id);
  add(dl, "Call id", p.call_id);
  card.append(title, dl);
  list.prepend(card);
  empty.hidden = true;
}

const source = new EventSource("/console/screenpop/events");
source.addEventListener("open", () => { status.textContent = "Live"; });
source.addEventListener("error", () => {
  if (source.readyState === EventSource.CLOSED) {
    status.textContent = "Not connected";
    signedOut.hidden = false;
  } else {
    status.textContent = "Reconnecting…";
  }
});
source.addEventListener("signed-out", () => {
  source.close();
  status.textContent = "Signed out";
  signedOut.hidden = false;
});
source.addEventListener("handoff", (event) => show(JSON.parse(event.data)));
