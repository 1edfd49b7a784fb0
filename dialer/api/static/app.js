// Shared by every page: calling the API with the session cookie, and small DOM helpers.
"use strict";

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
  if (response.status === 401 && !path.startsWith("/api/login")) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("not logged in");
  }
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    error.field = data.field;
    throw error;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

function $(selector) { return document.querySelector(selector); }

function show(selector, text, isError) {
  const node = $(selector);
  node.textContent = text || "";
  node.classList.toggle("error", !!isError);
}

function when(value) {
  if (!value) return "-";
  const d = new Date(value);
  return d.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
}

function percent(x) { return x === null || x === undefined ? "-" : (100 * x).toFixed(1) + " %"; }

async function header(here) {
  const me = await api("GET", "/api/me");
  const links = {
    operator: [["operator", "Desktop"]],
    validator: [["validator", "Validation"]],
    supervisor: [["wallboard", "Wallboard"], ["lists", "Lists"], ["leads", "Leads"], ["imports", "Import"],
      ["validator", "Validation"]],
  };
  links.admin = links.supervisor;
  const nav = $("header nav");
  for (const [page, label] of links[me.role] || []) {
    nav.append(el("a", { href: "/" + page, class: page === here ? "here" : null }, label));
  }
  $("header .who").append(`${me.name} (${me.role}) `,
    el("button", { class: "secondary", id: "logout", onclick: async () => {
      await api("POST", "/api/logout"); location.href = "/login"; } }, "Log out"));
  return me;
}
