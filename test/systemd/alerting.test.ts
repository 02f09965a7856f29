import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { checkExpression, exportedMetrics, promqlNames } from '../helpers/promql.js';
import { tempDir } from '../helpers/store.js';

/**
 * systemd/prometheus-rules.yaml as Prometheus judges it (promtool from the Debian package
 * prometheus, installed by the pretest step), unit-tested with prometheus-rules.promtool.yaml
 * beside this file, and naming only what the agent exports. The Grafana dashboard is held
 * to the same names.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = path.join(ROOT, 'systemd/prometheus-rules.yaml');
const RULE_TESTS = fileURLToPath(new URL('./prometheus-rules.promtool.yaml', import.meta.url));
const DASHBOARD = path.join(ROOT, 'systemd/grafana-dashboard.json');
const PROMTOOL = '/usr/bin/promtool';

interface Rule {
  alert: string;
  expr: string;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

function promtool(...args: string[]) {
  return spawnSync(PROMTOOL, args, { encoding: 'utf8', cwd: path.dirname(RULE_TESTS) });
}

t.test('promtool check rules accepts the rules, and refuses a broken one', async (t) => {
  const ok = promtool('check', 'rules', RULES);
  t.equal(ok.status, 0, `check rules (stderr: ${ok.stderr})`);
  t.match(ok.stdout, `SUCCESS: ${rules.length} rules found`);

  const dir = tempDir(t, 'ctop-rules-');
  const broken = path.join(dir, 'rules.yaml');
  writeFileSync(
    broken,
    readFileSync(RULES, 'utf8').replace('ctop_store_full == 1', 'ctop_store_full == == 1'),
  );
  const refused = promtool('check', 'rules', broken);
  t.not(refused.status, 0, 'a rule that does not parse is refused');
});

t.test('promtool test rules: each rule fires where it must and not where it must not', async (t) => {
  const res = promtool('test', 'rules', RULE_TESTS);
  t.equal(res.status, 0, `promtool test rules:\n${res.stdout}${res.stderr}`);
  t.match(res.stdout, /SUCCESS/);

  const cases = (
    parse(readFileSync(RULE_TESTS, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    }
  ).tests.flatMap((c) => c.alert_rule_test ?? []);
  for (const rule of rules) {
    const mine = cases.filter((c) => c.alertname === rule.alert);
    t.ok(
      mine.some((c) => c.exp_alerts.length > 0) && mine.some((c) => c.exp_alerts.length === 0),
      `${rule.alert}: a case where it fires and one where it stays quiet`,
    );
  }

  // The cases can fail: the rules with a changed threshold do not pass them.
  const dir = tempDir(t, 'ctop-rules-');
  writeFileSync(path.join(dir, 'rules.yaml'), readFileSync(RULES, 'utf8').replace('> 3600', '> 7200'));
  const tests = path.join(dir, 'tests.yaml');
  writeFileSync(
    tests,
    readFileSync(RULE_TESTS, 'utf8').replace('../../systemd/prometheus-rules.yaml', 'rules.yaml'),
  );
  const mutated = spawnSync(PROMTOOL, ['test', 'rules', tests], { encoding: 'utf8', cwd: dir });
  t.not(mutated.status, 0, 'a rule with another threshold fails its cases');
  t.match(mutated.stdout + mutated.stderr, /alertname: CtopOldestUnacknowledgedOld/);
});

t.test('every rule names only metrics the agent exports (and up, which Prometheus adds)', async (t) => {
  const exported = await exportedMetrics();
  for (const rule of rules) t.same(checkExpression(rule.expr, exported, ['up']), [], rule.alert);
});

t.test('the Grafana dashboard names only metrics and labels the agent exports', async (t) => {
  const exported = await exportedMetrics();
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; definition: string }[] };
  };
  let expressions = 0;
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      expressions++;
      t.same(checkExpression(target.expr, exported), [], `${panel.title}: ${target.expr}`);
    }
  }
  t.ok(expressions >= 20, `${expressions} expressions checked`);
  for (const variable of dashboard.templating.list) {
    const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable.definition);
    t.ok(m, `variable ${variable.name}: label_values(metric, label)`);
    t.ok(exported.get(m![1]!)?.has(m![2]!), `variable ${variable.name}: ${m![1]} has the label ${m![2]}`);
  }
  const panelsUsing = new Set(
    dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((x) => promqlNames(x.expr).metrics)),
  );
  for (const name of [
    'ctop_outbox_backlog',
    'ctop_outbox_oldest_unacknowledged_age_seconds',
    'ctop_alerts_total',
    'ctop_store_free_disk_bytes',
  ])
    t.ok(panelsUsing.has(name), `the dashboard shows ${name}`);
});

t.test('the name check itself catches a misspelt metric or label, and reads PromQL right', async (t) => {
  const exported = await exportedMetrics();
  t.same(checkExpression('ctop_outbox_backlgo > 0', exported), ['unknown metric ctop_outbox_backlgo']);
  t.same(checkExpression('sum by (knd) (increase(ctop_alerts_total[1h]))', exported), [
    'no metric of [ctop_alerts_total] has the label knd',
  ]);
  t.same(
    promqlNames(
      'sum by (kind) (increase(ctop_alerts_total{kind=~"clone|tamper", instance=~"$instance"}[10m])) > 1e9 and on (instance) ctop_agent_info offset 1d',
    ),
    { metrics: ['ctop_alerts_total', 'ctop_agent_info'], labels: ['kind', 'instance', 'kind', 'instance'] },
  );
  t.same(
    checkExpression('histogram_quantile(0.99, rate(nodejs_gc_duration_seconds_bucket[5m]))', exported),
    [],
  );
});
