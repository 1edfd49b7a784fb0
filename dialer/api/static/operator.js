// Operator desktop: state buttons, live updates over server-sent events, screen pop, wrap-up.
"use strict";

let shownAttempt = null;

function renderState(status) {
  const node = $("#state");
  node.textContent = status.state.replace("_", " ");
  node.className = "state " + status.state;
  node.dataset.state = status.state;
  $("#reason").textContent = status.state === "paused" && status.reason ? `(${status.reason})` : "";
  const loggedOut = status.state === "logged_out";
  const onCall = status.call !== null;
  $("#login-campaign").disabled = !loggedOut;
  $("#campaign").disabled = !loggedOut;
  $("#ready").disabled = loggedOut || onCall || status.state === "ready";
  $("#pause").disabled = loggedOut || onCall || status.state === "paused";
  $("#logout-campaign").disabled = loggedOut || onCall;
  if (onCall && status.call.attempt_id !== shownAttempt) screenPop();
  if (!onCall && shownAttempt !== null) { shownAttempt = null; $("#pop").hidden = true; $("#wrap-card").hidden = true; }
}

async function screenPop() {
  const pop = await api("GET", "/api/operator/call");
  shownAttempt = pop.attempt_id;
  const lead = pop.lead;
  $("#pop-name").textContent = [lead.first_name, lead.last_name].filter(Boolean).join(" ") || `Lead ${lead.id}`;
  const fields = [["Phone", lead.phone], ["Lead", lead.id], ["List", lead.list], ["Status", lead.status],
    ["Attempts", lead.attempts], ["City", [lead.city, lead.region].filter(Boolean).join(", ")],
    ["Time zone", lead.timezone], ["Email", lead.email], ["Last contacted", when(lead.last_contacted_at)]];
  for (const [key, value] of Object.entries(lead.fields || {})) fields.push([key, value]);
  $("#pop-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v ?? "-"))]));
  $("#pop-history").replaceChildren(...[...lead.history].reverse().map(c => el("tr", {},
    el("td", {}, when(c.started_at)), el("td", {}, c.called_number), el("td", {}, c.outcome || "in progress"),
    el("td", {}, c.operator || "-"), el("td", {}, c.wrap_code || "-"), el("td", { class: "opt" }, c.notes || ""))));
  $("#wrap-code").replaceChildren(el("option", { value: "" }, "— choose —"),
    ...pop.wrap_codes.map(w => el("option", { value: w.code }, `${w.code} — ${w.label}`)));
  $("#wrap-notes").value = "";
  $("#callback-at").value = "";
  show("#wrap-msg", "");
  $("#pop").hidden = false;
  $("#wrap-card").hidden = false;
}

async function act(method, path, body) {
  show("#msg", "");
  try { renderState(await api(method, path, body)); } catch (error) { show("#msg", error.message, true); }
}

async function refreshLists() {
  const [callbacks, calls] = await Promise.all([api("GET", "/api/operator/callbacks"), api("GET", "/api/operator/calls?limit=10")]);
  $("#callbacks").replaceChildren(...callbacks.callbacks.map(c => el("tr", {}, el("td", {}, when(c.due_at)),
    el("td", {}, `${c.first_name || ""} ${c.last_name || ""}`), el("td", {}, c.phone), el("td", { class: "opt" }, c.note || ""))));
  $("#calls").replaceChildren(...calls.calls.map(c => el("tr", {}, el("td", {}, when(c.started_at)),
    el("td", {}, `${c.first_name || ""} ${c.last_name || ""}`), el("td", {}, c.outcome || "-"), el("td", {}, c.wrap_code || "-"))));
}

$("#login-campaign").addEventListener("click", () => act("POST", "/api/operator/login", { campaign: $("#campaign").value }));
$("#ready").addEventListener("click", () => act("POST", "/api/operator/ready"));
$("#pause").addEventListener("click", () => act("POST", "/api/operator/pause", { reason: $("#pause-reason").value }));
$("#logout-campaign").addEventListener("click", () => act("POST", "/api/operator/logout"));
$("#wrap").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { code: $("#wrap-code").value, notes: $("#wrap-notes").value };
  if ($("#callback-at").value) {
    body.callback_at = new Date($("#callback-at").value).toISOString();
    body.callback_owned = $("#callback-owned").checked;
  }
  try {
    await api("POST", "/api/operator/wrap", body);
    show("#msg", `Saved ${body.code}.`);
    refreshLists();
  } catch (error) { show("#wrap-msg", error.message, true); }
});

async function preview(action) {
  show("#msg", "");
  try {
    const result = await api("POST", `/api/operator/preview/${action}`);
    const lead = result.lead;
    const shown = action === "next" && lead;
    $("#preview-lead").textContent = action !== "next" ? (result.attempt_id ? `Dialing (call ${result.attempt_id})…` : "Skipped.")
      : lead ? `${lead.first_name || ""} ${lead.last_name || ""} ${lead.phone} (lead ${lead.id}, ${lead.attempts} attempts)` : "Nothing to call now.";
    $("#preview-dial").disabled = $("#preview-skip").disabled = !shown;
  } catch (error) { show("#msg", error.message, true); }
}
$("#preview-next").addEventListener("click", () => preview("next"));
$("#preview-dial").addEventListener("click", () => preview("dial"));
$("#preview-skip").addEventListener("click", () => preview("skip"));

(async function start() {
  await header("operator");
  const campaigns = await api("GET", "/api/operator/campaigns");
  $("#campaign").replaceChildren(...campaigns.campaigns.map(c => el("option", { value: c.name }, c.name)));
  renderState(await api("GET", "/api/operator/status"));
  refreshLists();
  const events = new EventSource("/api/operator/events");
  events.addEventListener("status", (event) => renderState(JSON.parse(event.data)));
})();
