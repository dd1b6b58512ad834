// The page, end to end, in Debian's Chromium: a real `hourglass serve` on a
// seeded database (started by .ci/browser_test.sh, which passes BASE, KEY,
// WRITE_KEY, SEEDED_FROM and SEEDED_UNTIL), driven as a person would.
// SCREENSHOT=path saves a picture of the page (README shows docs/page.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const { BASE, KEY, WRITE_KEY, SEEDED_FROM, SEEDED_UNTIL, SCREENSHOT } = process.env;
const HOUR = 3600 * 1000;
const utcMs = (text) => Date.parse(`${text.replace(" ", "T")}Z`);
// The test's own requests to the API, as a machine sends them.
const asMachine = { headers: { Authorization: `Bearer ${KEY}` } };

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium" });
});
after(async () => browser && browser.close());

/** A browser context signed in with `password` (HTTP Basic, any user name). */
function signedIn(password, options = {}) {
  return browser.newContext({
    httpCredentials: password === undefined ? undefined : { username: "analyst", password },
    viewport: { width: 1280, height: 900 },
    ...options,
  });
}

/** The page, loaded and showing its feeds. */
async function openPage(context) {
  const page = await context.newPage();
  const response = await page.goto(BASE);
  assert.equal(response.status(), 200);
  await page.locator("#feed-table tbody tr").first().waitFor();
  await page.locator("#download-link[href]").waitFor();
  return page;
}

test("a wrong key gets a clear message on the page", async () => {
  const context = await signedIn("hg_not-a-key");
  const page = await context.newPage();
  const response = await page.goto(BASE);
  assert.equal(response.status(), 401);
  assert.match(response.headers()["www-authenticate"], /^Basic /);
  await assert.doesNotReject(page.getByRole("alert").getByText("That key was not accepted").waitFor());
  await context.close();
});

test("no key gets the sign-in advice, and a write key is told it cannot read", async () => {
  // A person without a key gets the browser's prompt; headless Chromium
  // cannot show one, so the page behind it is asked for as a browser first
  // asks, without credentials.
  const anonymous = await browser.newContext();
  const answer = await anonymous.request.get(BASE);
  assert.equal(answer.status(), 401);
  assert.match(answer.headers()["www-authenticate"], /^Basic realm=/);
  assert.match(await answer.text(), /Sign in with an API key/);
  await anonymous.close();

  const context = await signedIn(WRITE_KEY);
  const page = await context.newPage();
  const response = await page.goto(BASE);
  assert.equal(response.status(), 401);
  await page.getByRole("alert").getByText("That key cannot read").waitFor();
  await context.close();
});

test("the chart shows the seeded hours, as /api/stats counts them", async () => {
  const context = await signedIn(KEY);
  const page = await openPage(context);
  const stats = await (await context.request.get(`${BASE}/api/stats`, asMachine)).json();
  const firstSeeded = Math.floor(utcMs(SEEDED_FROM) / HOUR) * HOUR;
  const lastSeeded = Math.floor(utcMs(SEEDED_UNTIL) / HOUR) * HOUR;
  assert.equal(await page.locator("#feed-table tbody tr").count(), stats.datasets.length);
  const busy = ["users", "logins", "wallets", "game_actions"];
  for (const feed of stats.datasets) {
    const bars = await page.locator(`#feed-table tr[data-dataset="${feed.dataset}"] rect`)
      .evaluateAll((rects) => rects.map((r) => [r.dataset.hour, Number(r.dataset.rows)]));
    assert.equal(bars.length, 48, feed.dataset);
    assert.deepEqual(bars.map(([, rows]) => rows), feed.rows_per_hour.map(Number), feed.dataset);
    for (const [hour, rows] of bars) {
      const at = utcMs(hour);
      if (at < firstSeeded || at > lastSeeded) {
        assert.equal(rows, 0, `${feed.dataset} has rows at ${hour}, outside the seeded hours`);
      } else if (busy.includes(feed.dataset) && at > firstSeeded && at < lastSeeded) {
        // Every whole hour of the seeded day; the first holds the initial
        // load only, the last may have just begun.
        assert.ok(rows > 0, `${feed.dataset} shows no rows at ${hour}, a seeded hour`);
      }
    }
  }
  await context.close();
});

test("a CSV window downloads through the page byte for byte as the pull API sends it", async () => {
  const context = await signedIn(KEY, { acceptDownloads: true });
  const page = await openPage(context);
  await page.selectOption("#dataset", "transactions");
  // From the keyboard: focus the quick pick and press Enter.
  await page.focus('button[data-span="86400"]');
  await page.keyboard.press("Enter");
  await page.check('input[name="format"][value="csv"]');
  const link = page.locator("#download-link[href]");
  await link.waitFor();
  const counted = Number((await page.locator("#count").textContent()).match(/^([\d,]+) rows/)[1].replaceAll(",", ""));
  const from = await page.inputValue("#from");
  const to = await page.inputValue("#to");
  assert.equal(utcMs(to) - utcMs(from), 24 * HOUR);

  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const stamp = (t) => t.replace(" ", "T").replaceAll(":", "");
  assert.equal(download.suggestedFilename(), `transactions_${stamp(from)}_${stamp(to)}.csv`);
  const file = await readFile(await download.path());

  const query = new URLSearchParams({ from, to, format: "csv" });
  const pulled = await context.request.get(`${BASE}/api/transactions?${query}`, asMachine);
  assert.equal(pulled.status(), 200);
  const expected = await pulled.body();
  assert.ok(expected.length > 1000, `only ${expected.length} bytes in the window`);
  assert.ok(file.equals(expected), `the download (${file.length} bytes) differs from the pull (${expected.length} bytes)`);

  query.set("format", "json");
  const rows = await (await context.request.get(`${BASE}/api/transactions?${query}`, asMachine)).json();
  assert.equal(counted, rows.length, "the count shown is the pull's row count");
  await context.close();
});

test("an empty window and a failing server each get a clear message", async () => {
  const context = await signedIn(KEY);
  const page = await openPage(context);
  await page.fill("#from", "2020-01-01 00:00:00");
  await page.fill("#to", "2020-01-01 01:00:00");
  await page.getByText("This window is empty").waitFor();

  await page.fill("#to", "2019-01-01 00:00:00");
  await page.getByText("To must be later than From").waitFor();

  // The server's failure, as the browser would receive it.
  await page.route("**/count?*", (route) => route.fulfill({
    status: 503,
    contentType: "application/problem+json",
    body: JSON.stringify({ status: 503, detail: "the database did not answer in time" }),
  }));
  await page.click('button[data-span="3600"]');
  await page.getByText("The server failed to answer (503): the database did not answer in time").waitFor();
  assert.equal(await page.locator("#download-link").getAttribute("href"), null);
  await context.close();
});

test("a player's activity comes in time order", async () => {
  const context = await signedIn(KEY);
  const page = await openPage(context);
  await page.fill("#player", "10001");
  await page.selectOption("#activity-span", "604800");
  await page.press("#player", "Enter");
  await page.locator("#activity-table:not([hidden]) tbody tr").first().waitFor();
  const times = await page.locator("#activity-table tbody td.time").allTextContents();
  assert.ok(times.length > 5, `only ${times.length} rows`);
  assert.deepEqual([...times].sort(), times, "rows are in time order");

  await page.fill("#player", "no-such-player");
  await page.press("#player", "Enter");
  await page.getByText("No rows of player no-such-player").waitFor();
  await context.close();
});

test("the page fits a phone's screen, and a laptop's (screenshot)", async () => {
  const phone = await signedIn(KEY, { viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await openPage(phone);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  await phone.close();

  const laptop = await signedIn(KEY);
  const shot = await openPage(laptop);
  await shot.locator("#count").filter({ hasText: "rows" }).waitFor();
  if (SCREENSHOT) await shot.screenshot({ path: SCREENSHOT, fullPage: true });
  await laptop.close();
});
