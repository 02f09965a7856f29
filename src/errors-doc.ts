import { ERRORS, type ErrorCategory, EXIT_CODES } from './errors.js';

/** Renders the error reference (docs/ERRORS.md) from the registry. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error reference',
    '',
    'Generated from `src/errors.ts` by `npm run docs:errors`; do not edit by hand.',
    '',
    'Every error the agent raises on purpose carries one of these codes. Log lines carry it in',
    'the `code` field next to a `hint`; the CLI exits with the code of its category.',
    '',
    '| category | exit code |',
    '|---|---|',
    ...Object.entries(EXIT_CODES).map(([category, exit]) => `| ${category} | ${exit} |`),
    '',
  ];
  for (const [code, spec] of Object.entries(ERRORS)) {
    lines.push(
      `### \`${code}\``,
      '',
      `*${spec.category}* (exit ${EXIT_CODES[spec.category as ErrorCategory]}): ${spec.summary}.`,
      '',
      `What to do: ${spec.hint}.`,
      '',
    );
  }
  return lines.join('\n');
}
