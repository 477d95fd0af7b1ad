/**
 * The HTML report in a real browser: it loads from a file with the network cut off, logs no
 * console error, the trust map and the group bars render with real size, and a screenshot is taken.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderAuditHtml } from '../../src/audit/render-html.js';
import type { AuditReport } from '../../src/audit/types.js';
import { launchChromium } from './browser.js';
import { auditOf, startScenario } from './scenario.js';
import { defined } from '../support/defined.js';

describe('audit HTML in headless chromium', () => {
  let browser: Browser;
  let report: AuditReport;
  let clean: AuditReport;
  let dir: string;
  beforeAll(async () => {
    const s = await startScenario();
    try {
      report = await auditOf(s);
    } finally {
      await s.gl.close();
    }
    clean = structuredClone(report);
    // A hostile runner description must stay text.
    defined(report.runners[0], 'a runner').description = '<img src=x onerror=alert(1)>';
    dir = mkdtempSync(path.join(tmpdir(), 'tg-audit-html-'));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads offline without a console error, draws the trust map and the bars, and screenshots', async () => {
    const file = path.join(dir, 'audit.html');
    writeFileSync(file, renderAuditHtml(report));
    const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => {
      errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.title()).toBe('tierguard audit: acme');

    const map = page.locator('svg#trust-map');
    const box = await map.boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    expect(box!.height).toBeGreaterThan(100);
    expect(await map.locator('g.runner').count()).toBe(5);
    expect(await map.locator('g.project').count()).toBe(4);
    // Production deploy edges are drawn (red) and have a rendered length.
    const prod = map.locator('path.edge-prod');
    expect(await prod.count()).toBeGreaterThanOrEqual(3);
    const len = await prod.first().evaluate((el) => (el as unknown as { getTotalLength(): number }).getTotalLength());
    expect(len).toBeGreaterThan(50);
    // The mixed-trust runner is outlined in red.
    const mixedStroke = await map.locator(`g.runner[data-runner="${report.runners.find((r) => r.description === 'shared-docker')!.id}"] rect`).getAttribute('stroke');
    expect(mixedStroke).toBe('#c62828');
    const bars = page.locator('svg#group-bars rect.bar');
    expect(await bars.count()).toBeGreaterThanOrEqual(2);
    expect((await bars.first().boundingBox())!.width).toBeGreaterThan(10);
    // The hostile description is shown as text, not markup.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.content()).toContain('&lt;img src=x onerror=alert(1)&gt;');

    const shot = path.join(dir, 'audit.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.TIERGUARD_AUDIT_SCREENSHOT) {
      // The README picture (docs/audit-example.png), from the report as the audit wrote it.
      writeFileSync(file, renderAuditHtml(clean));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.screenshot({ path: process.env.TIERGUARD_AUDIT_SCREENSHOT, clip: { x: 0, y: 0, width: 1100, height: 600 } });
    }
    await context.close();
  }, 60_000);
});
