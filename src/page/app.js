// Hourglass's page. The browser already holds the key (HTTP Basic): every
// request below, and every download, carries it without this script ever
// seeing it. Downloads are plain links to the pull API, so a file of any
// size streams to disk and never through this page's memory.
"use strict";

const HOUR = 3600 * 1000;
const $ = (id) => document.getElementById(id);

// The server's clock less the browser's: quick picks and "quiet for" are
// counted on the server's clock, so that a window never ends in its future.
let clockSkew = 0;
let datasets = [];

/** `YYYY-MM-DD HH:MM:SS` of an instant, in UTC. */
function utc(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** The instant of a `YYYY-MM-DD HH:MM:SS` text in UTC, or NaN. */
function parseUtc(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return NaN;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 2026-02-31 over to March: refuse what it had to roll.
  return utc(ms) === text.trim().replace("T", " ") ? ms : NaN;
}

function serverNow() {
  return Date.now() + clockSkew;
}

/** "3 h 12 min", "45 s". */
function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

const number = new Intl.NumberFormat("en");

/** A failed request, with the server's own words where it gave them. */
class RequestFailed extends Error {}

/**
 * GETs `path` and returns its JSON. Numbers are kept as the text the
 * server wrote (an amount stays exact), where the browser can tell.
 */
async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (error) {
    throw new RequestFailed("Hourglass cannot be reached: check the connection, then try again.");
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = "";
    try {
      detail = JSON.parse(text).detail || "";
    } catch (ignored) {
      // Not a problem document: the status says enough.
    }
    if (response.status === 401) {
      throw new RequestFailed("Your key is no longer accepted. Reload the page to sign in again.");
    }
    if (response.status >= 500) {
      throw new RequestFailed(`The server failed to answer (${response.status})${detail ? `: ${detail}` : ""}. Try again in a moment.`);
    }
    throw new RequestFailed(detail || `The request was refused (${response.status}).`);
  }
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && context && context.source ? context.source : value);
}

function show(element, text, kind) {
  element.textContent = text;
  element.className = kind ? `message ${kind}` : "message";
}

// ---- Feed health -------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

/** A bar chart of rows per hour: one bar per hour, the hour in its title. */
function chart(feed, firstHour) {
  const width = 6;
  const height = 40;
  const max = Math.max(1, ...feed.rows_per_hour.map(Number));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", `0 0 ${feed.rows_per_hour.length * width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const total = feed.rows_per_hour.reduce((sum, rows) => sum + Number(rows), 0);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label",
    `${feed.dataset}: ${number.format(total)} rows written in the last 48 hours, at most ${number.format(max)} in an hour`);
  feed.rows_per_hour.forEach((value, i) => {
    const rows = Number(value);
    const bar = document.createElementNS(SVG, "rect");
    const barHeight = rows ? Math.max(2, (rows / max) * height) : 1;
    const hour = utc(firstHour + i * HOUR);
    bar.setAttribute("x", i * width);
    bar.setAttribute("width", width - 1);
    bar.setAttribute("y", height - barHeight);
    bar.setAttribute("height", barHeight);
    bar.setAttribute("data-hour", hour);
    bar.setAttribute("data-rows", rows);
    if (!rows) bar.setAttribute("class", "zero");
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${hour} UTC: ${number.format(rows)} rows`;
    bar.appendChild(title);
    svg.appendChild(bar);
  });
  return svg;
}

/** How long a dataset's rows are kept, and from when they are all there. */
function kept(dataset) {
  if (dataset.retention_seconds == null) {
    return dataset.horizon ? `Purged before ${dataset.horizon} UTC` : "Kept forever";
  }
  return `Kept ${duration(Number(dataset.retention_seconds))}: windows from ${dataset.horizon} UTC on`;
}

function feedStatus(feed) {
  if (!feed.last_write) return ["No writes yet", ""];
  const quiet = Number(feed.silent_seconds);
  if (feed.stalled) {
    return [`Quiet for ${duration(quiet)}: usually at most ${duration(Number(feed.usual_gap_seconds))} between writes`, "warn"];
  }
  return [`Receiving writes (last ${duration(quiet)} ago)`, "ok"];
}

async function loadFeeds() {
  const stats = await getJson("/api/stats");
  clockSkew = parseUtc(stats.now) - Date.now();
  $("server-time").textContent = stats.now;
  const firstHour = parseUtc(stats.first_hour);
  const body = $("feed-table").querySelector("tbody");
  body.replaceChildren();
  const stalled = [];
  for (const feed of stats.datasets) {
    const row = body.insertRow();
    row.dataset.dataset = feed.dataset;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = feed.dataset;
    row.appendChild(name);
    const cell = row.insertCell();
    cell.appendChild(chart(feed, firstHour));
    const scale = document.createElement("small");
    scale.className = "scale";
    scale.textContent = `48 h ago → now · busiest hour ${number.format(Math.max(...feed.rows_per_hour.map(Number)))} rows`;
    cell.appendChild(scale);
    const last = row.insertCell();
    last.className = "time";
    last.textContent = feed.last_write || "never";
    const [text, kind] = feedStatus(feed);
    const status = row.insertCell();
    status.className = `status ${kind}`;
    status.textContent = text;
    const retention = document.createElement("small");
    retention.className = "scale kept";
    retention.textContent = kept(feed);
    status.appendChild(retention);
    if (feed.stalled) stalled.push(feed.dataset);
  }
  if (stalled.length) {
    show($("feeds-summary"), `${stalled.length === 1 ? "One feed looks" : `${stalled.length} feeds look`} stalled: ${stalled.join(", ")}. Check the platform's export to Hourglass.`, "warn");
  } else {
    show($("feeds-summary"), "Every feed that usually receives writes is receiving them.", "ok");
  }
}

// ---- Download ----------------------------------------------------------

function chosenFormat() {
  return document.querySelector('input[name="format"]:checked').value;
}

/** The window in the form, or the message that says what is wrong with it. */
function formWindow() {
  const from = $("from").value.trim().replace("T", " ");
  const to = $("to").value.trim().replace("T", " ");
  const fromMs = parseUtc(from);
  const toMs = parseUtc(to);
  $("from").setAttribute("aria-invalid", String(Number.isNaN(fromMs)));
  $("to").setAttribute("aria-invalid", String(Number.isNaN(toMs)));
  if (Number.isNaN(fromMs)) return { error: "From must be a time like 2026-11-24 09:00:00 (UTC)." };
  if (Number.isNaN(toMs)) return { error: "To must be a time like 2026-11-24 10:00:00 (UTC)." };
  if (toMs <= fromMs) return { error: "To must be later than From." };
  return { from, to };
}

/** `transactions_2026-11-24T090000_2026-11-24T100000.csv`, as the server names it. */
function fileName(dataset, window, format) {
  const stamp = (t) => t.replace(" ", "T").replaceAll(":", "");
  return `${dataset}_${stamp(window.from)}_${stamp(window.to)}.${format}`;
}

function disableDownload() {
  const link = $("download-link");
  link.removeAttribute("href");
  link.setAttribute("aria-disabled", "true");
  link.textContent = "Download";
}

let countRequest = 0;

/** Counts the chosen window and points the download link at it. */
async function refreshCount() {
  const dataset = $("dataset").value;
  const described = datasets.find((d) => d.name === dataset);
  $("dataset-kept").textContent = described ? kept(described) + "." : "";
  const window = formWindow();
  const count = $("count");
  disableDownload();
  if (window.error) {
    show(count, window.error, "error");
    return;
  }
  const query = new URLSearchParams({ from: window.from, to: window.to });
  const request = ++countRequest;
  show(count, "Counting the rows in this window…");
  let answer;
  try {
    answer = await getJson(`/api/${encodeURIComponent(dataset)}/count?${query}`);
  } catch (error) {
    if (request === countRequest) show(count, error.message, "error");
    return;
  }
  if (request !== countRequest) return; // A later change asked again.
  const rows = Number(answer.rows);
  if (rows === 0) {
    show(count, `This window is empty: no ${dataset} row changed between ${window.from} and ${window.to} (UTC). Pick a wider window or another dataset.`, "warn");
  } else {
    show(count, `${number.format(rows)} ${rows === 1 ? "row" : "rows"} of ${dataset} changed between ${window.from} and ${window.to} (UTC).`);
  }
  const format = chosenFormat();
  query.set("format", format);
  query.set("download", "1");
  const link = $("download-link");
  link.href = `/api/${encodeURIComponent(dataset)}?${query}`;
  link.removeAttribute("aria-disabled");
  link.textContent = `Download ${fileName(dataset, window, format)}`;
}

let countTimer;
function countSoon() {
  clearTimeout(countTimer);
  countTimer = setTimeout(refreshCount, 250);
}

/** Quick picks: the span up to now, on the server's clock, to the second. */
function pick(spanSeconds) {
  const to = Math.floor(serverNow() / 1000) * 1000;
  $("from").value = utc(to - spanSeconds * 1000);
  $("to").value = utc(to);
  refreshCount();
}

async function loadDatasets() {
  const schema = await getJson("/api/schema");
  datasets = schema.datasets;
  const select = $("dataset");
  for (const dataset of datasets.filter((d) => d.pull)) {
    select.add(new Option(`${dataset.name}: ${dataset.description}`, dataset.name));
  }
  select.value = datasets.some((d) => d.name === "transactions") ? "transactions" : select.value;
}

// ---- A player's activity -----------------------------------------------

/** The column a dataset's rows change on, to show as their time. */
function stampOf(datasetName) {
  const dataset = datasets.find((d) => d.name === datasetName);
  return dataset && dataset.stamp;
}

async function showActivity(event) {
  event.preventDefault();
  const player = $("player").value.trim();
  const status = $("activity-status");
  const table = $("activity-table");
  const body = table.querySelector("tbody");
  if (!player) {
    show(status, "Type a player id first.", "error");
    $("player").focus();
    return;
  }
  const to = Math.floor(serverNow() / 1000) * 1000;
  const from = to - Number($("activity-span").value) * 1000;
  const query = new URLSearchParams({ from: utc(from), to: utc(to), format: "json" });
  show(status, "Looking up the player's rows…");
  let rows;
  try {
    rows = await getJson(`/api/players/${encodeURIComponent(player)}/activity?${query}`);
  } catch (error) {
    table.hidden = true;
    show(status, error.message, "error");
    return;
  }
  body.replaceChildren();
  if (!rows.length) {
    table.hidden = true;
    show(status, `No rows of player ${player} changed between ${utc(from)} and ${utc(to)} (UTC). Check the id, or look further back.`, "warn");
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    const stamp = stampOf(row.dataset);
    const cells = [[row[stamp] || "", "time"], [row.dataset, ""], [row.id ?? "", ""]];
    for (const [text, className] of cells) {
      const td = tr.insertCell();
      td.textContent = text;
      td.className = className;
    }
    const details = Object.entries(row)
      .filter(([name, value]) => !["dataset", "id", stamp].includes(name) && value !== null && value !== "")
      .map(([name, value]) => `${name}: ${value}`)
      .join(" · ");
    const td = tr.insertCell();
    td.className = "details";
    td.textContent = details;
  }
  table.hidden = false;
  show(status, `${number.format(rows.length)} ${rows.length === 1 ? "row" : "rows"} of player ${player} between ${utc(from)} and ${utc(to)} (UTC), oldest first.`);
}

// ---- Start -------------------------------------------------------------

async function start() {
  document.querySelectorAll(".picks button").forEach((button) =>
    button.addEventListener("click", () => pick(Number(button.dataset.span))));
  for (const id of ["from", "to"]) $(id).addEventListener("input", countSoon);
  $("dataset").addEventListener("change", refreshCount);
  document.querySelectorAll('input[name="format"]').forEach((radio) =>
    radio.addEventListener("change", refreshCount));
  $("activity-form").addEventListener("submit", showActivity);
  $("download-link").addEventListener("click", (event) => {
    if (!$("download-link").hasAttribute("href")) event.preventDefault();
  });
  try {
    await Promise.all([loadFeeds(), loadDatasets()]);
    pick(3600);
  } catch (error) {
    show($("page-error"), error.message, "error");
    $("page-error").hidden = false;
  }
  // The chart follows the feeds while the page is open.
  setInterval(() => loadFeeds().catch((error) => show($("feeds-summary"), error.message, "error")), 60 * 1000);
}

start();
