/**
 * What PromQL expressions (alert rules, the Grafana dashboard) name, checked against what
 * the agent exports: the metric names and label names of the daemon's own registry
 * (src/daemon/metrics.ts, prom-client's process and Node.js metrics included).
 */
import { systemClock } from '../../src/clock.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';

/** Labels Prometheus adds to every scraped series. */
export const SCRAPE_LABELS = ['instance', 'job'] as const;

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

export interface PromqlNames {
  metrics: string[];
  /** Label names in matchers, grouping and vector matching clauses. */
  labels: string[];
}

/**
 * Metric and label names an expression uses. A reading, not a parser: strings, durations,
 * numbers and Grafana variables are dropped, identifiers followed by "(" are functions.
 */
export function promqlNames(expr: string): PromqlNames {
  const labels: string[] = [];
  let text = expr.replace(/\$\{?\w+\}?/g, '').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  text = text.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const m of inner.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]!);
    return ' ';
  });
  text = text.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_m, _k, list: string) => {
      for (const name of list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        labels.push(name);
      return ' ';
    },
  );
  text = text
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+-?\d+[smhdwy]\w*/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const metrics: string[] = [];
  for (const m of text.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = text.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0].toLowerCase())) continue;
    metrics.push(m[0]);
  }
  return { metrics, labels };
}

/** Every series name the agent exports, with the label names each carries. */
export async function exportedMetrics(): Promise<Map<string, Set<string>>> {
  const metrics = new DaemonMetrics(
    {
      store: () => undefined,
      sync: () => undefined,
      storePath: '/nonexistent/ctop-agent.db',
      ready: () => false,
      serialPorts: () => ({ attached: 0, reading: 0 }),
      clock: systemClock,
    },
    { role: 'checkpoint', gatewayId: 'gw', version: '0' },
  );
  const out = new Map<string, Set<string>>();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    const labelNames =
      (metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    const labels = new Set([...labelNames, ...SCRAPE_LABELS]);
    if (String(type) === 'histogram') {
      out.set(`${name}_bucket`, new Set([...labels, 'le']));
      out.set(`${name}_sum`, labels);
      out.set(`${name}_count`, labels);
    } else {
      out.set(name, labels);
    }
  }
  return out;
}

/** Problems with one expression: names the agent does not export, labels its metrics lack. */
export function checkExpression(
  expr: string,
  exported: Map<string, Set<string>>,
  extraMetrics: string[] = [],
): string[] {
  const { metrics, labels } = promqlNames(expr);
  const problems: string[] = [];
  const known = metrics.filter((m) => exported.has(m));
  for (const m of metrics)
    if (!exported.has(m) && !extraMetrics.includes(m)) problems.push(`unknown metric ${m}`);
  if (metrics.length === 0) problems.push('names no metric');
  for (const label of labels) {
    if (known.length > 0 && !known.some((m) => exported.get(m)!.has(label)))
      problems.push(`no metric of [${known.join(', ')}] has the label ${label}`);
  }
  return problems;
}
