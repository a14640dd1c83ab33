// keyquarry browser page: lists keys, shows and edits values, and shows events live
// through EventSource (which resumes with Last-Event-ID when it reconnects).
"use strict";

const $ = (id) => document.getElementById(id);
const EVENT_TYPES = ["CREATED", "UPDATED", "DELETED", "EXPIRED", "LOCKED", "UNLOCKED", "EXPUNGED",
  "ACCESSED", "LIFESPAN_SET", "LIFESPAN_RENEWED", "RESET"];
let selectedKey = null;
let previewURL = null;

const clientID = () => $("client-id").value.trim();
const keyPath = (key) => "/v1/keys/" + encodeURIComponent(key);

async function api(method, path, body, headers = {}) {
  const response = await fetch(path, { method, body, headers: { "Client-Id": clientID(), ...headers } });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).message; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${message}`);
  }
  return response;
}

function show(message, error = true) {
  $("message").textContent = message;
  $("message").classList.toggle("muted", !error);
}

async function refreshKeys() {
  const pattern = $("filter").value;
  const query = pattern ? "?pattern=" + encodeURIComponent(pattern) : "";
  try {
    const { keys = [] } = await (await api("GET", "/v1/keys" + query)).json();
    const list = $("key-list");
    list.replaceChildren(...keys.map((key) => {
      const item = document.createElement("li");
      item.textContent = key;
      item.dataset.key = key;
      item.classList.toggle("active", key === selectedKey);
      item.addEventListener("click", () => select(key));
      return item;
    }));
  } catch (error) { show(error.message); }
}

async function select(key) {
  selectedKey = key;
  $("selected").textContent = key;
  $("delete").disabled = false;
  const meta = $("meta");
  const preview = $("preview");
  try {
    const info = await (await api("GET", keyPath(key) + "/info")).json();
    meta.replaceChildren(...Object.entries(info).flatMap(([name, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
      return [dt, dd];
    }));
    const response = await api("GET", keyPath(key));
    const type = response.headers.get("Content-Type") || "";
    if (previewURL) URL.revokeObjectURL(previewURL);
    if (type.startsWith("image/")) {
      previewURL = URL.createObjectURL(await response.blob());
      const image = document.createElement("img");
      image.src = previewURL;
      image.alt = key;
      preview.replaceChildren(image);
    } else {
      const pre = document.createElement("pre");
      pre.id = "value-text";
      pre.textContent = await response.text();
      preview.replaceChildren(pre);
    }
  } catch (error) {
    meta.replaceChildren();
    preview.replaceChildren();
    show(error.message);
  }
  refreshKeys();
}

async function setKey(event) {
  event.preventDefault();
  const key = $("set-key").value;
  const file = $("set-file").files[0];
  const body = file || $("set-value").value;
  const type = $("set-type").value || (file && file.type) || "";
  try {
    const response = await api("PUT", keyPath(key), body, type ? { "Content-Type": type } : {});
    const result = await response.json();
    show(result.isNew ? `created ${key}` : `updated ${key}`, false);
    await select(key);
  } catch (error) { show(error.message); }
}

async function deleteKey() {
  if (!selectedKey) return;
  try {
    await api("DELETE", keyPath(selectedKey));
    show(`deleted ${selectedKey}`, false);
    selectedKey = null;
    $("selected").textContent = "select a key";
    $("meta").replaceChildren();
    $("preview").replaceChildren();
    $("delete").disabled = true;
    refreshKeys();
  } catch (error) { show(error.message); }
}

function addEvent(type, data, id) {
  const item = document.createElement("li");
  item.className = "event-" + type;
  item.dataset.id = id || "";
  item.dataset.type = type;
  item.dataset.key = data.key || "";
  item.textContent = `#${id || "-"} ${type} ${data.key || ""} by ${data.clientId || ""}`;
  const list = $("event-list");
  list.prepend(item);
  while (list.children.length > 200) list.lastChild.remove();
}

function connect() {
  const source = new EventSource("/v1/events?client_id=" + encodeURIComponent(clientID()));
  const status = $("status");
  source.onopen = () => { status.textContent = "live"; status.className = "status live"; };
  source.onerror = () => { status.textContent = "reconnecting…"; status.className = "status down"; };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      addEvent(type, JSON.parse(message.data), message.lastEventId);
      if (type === "ACCESSED") return;
      refreshKeys();
      if (selectedKey && JSON.parse(message.data).key === selectedKey && type !== "LOCKED") select(selectedKey);
    });
  }
  return source;
}

$("client-id").value = new URLSearchParams(location.search).get("client_id")
  || localStorage.getItem("keyquarry.clientId") || "browser-" + Math.random().toString(36).slice(2, 8);
localStorage.setItem("keyquarry.clientId", clientID());
$("refresh").addEventListener("click", refreshKeys);
$("filter").addEventListener("input", refreshKeys);
$("set-form").addEventListener("submit", setKey);
$("delete").addEventListener("click", deleteKey);
connect();
refreshKeys();
