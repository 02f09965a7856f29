import { formatBytes, formatTime, isoTime } from '../format.js';
import { type Html, html } from '../html.js';
import { LOCK_STATES, type LockState, type LockView, type TrainView } from '../train-feed.js';

/** Words beside the colour, so the strip reads the same to a colour-blind officer and on a grey screen. */
export const STATE_LABELS: Record<LockState, string> = {
  seen: 'seen',
  reading: 'reading',
  read: 'read, not verified',
  verified: 'verified',
  tamper: 'TAMPER',
  failed: 'failed',
  missing: 'missing',
};

function lockCell(lock: LockView, position: number): Html {
  const percent = lock.total > 0 ? Math.min(100, Math.floor((lock.bytes / lock.total) * 100)) : 0;
  const inner = html`<span class="pos">${position}</span>
    <span class="wagon" title="wagon">${lock.wagon ?? '—'}</span>
    <span class="container" title="container">${lock.container ?? ''}</span>
    <span class="lock-id" title="lock">${lock.lockId}</span>
    <span class="state">${STATE_LABELS[lock.state]}</span>
    ${
      lock.state === 'reading'
        ? html`<progress max="100" value="${percent}" aria-label="manifest read">${percent}%</progress>
          <span class="bytes">${formatBytes(lock.bytes)} / ${formatBytes(lock.total)}</span>`
        : ''
    }
    ${lock.retries > 0 ? html`<span class="retries">${lock.retries} retr${lock.retries === 1 ? 'y' : 'ies'}</span>` : ''}
    ${lock.error ? html`<span class="why">${lock.error}</span>` : ''}`;
  return html`<li class="lock s-${lock.state}" data-lock-id="${lock.lockId}" data-state="${lock.state}"
    data-bytes="${lock.bytes}" data-total="${lock.total}">${
      lock.manifestId ? html`<a href="/manifests/${lock.manifestId}">${inner}</a>` : html`<div>${inner}</div>`
    }</li>`;
}

function counts(train: TrainView): Html {
  const by = new Map<LockState, number>();
  for (const l of train.locks) by.set(l.state, (by.get(l.state) ?? 0) + 1);
  return html`${LOCK_STATES.filter((s) => by.has(s)).map(
    (s) => html`<span class="count s-${s}" data-count="${s}">${by.get(s)} ${STATE_LABELS[s]}</span> `,
  )}`;
}

/** One train: header, counts by state, and the wagon-by-wagon strip in train order. */
export function renderTrain(train: TrainView): Html {
  const passing = train.finishedAt === undefined;
  const heard = train.locks.filter((l) => l.state !== 'missing').length;
  return html`<section class="train${passing ? ' passing' : ''}" data-train-id="${train.trainId}"
    data-finished="${passing ? 'false' : 'true'}">
  <h2>Train <span class="train-id">${train.trainId}</span>
    <span class="badge">${passing ? 'passing' : 'passed'}</span></h2>
  <p class="summary">
    started <time datetime="${isoTime(train.startedAt)}">${formatTime(train.startedAt)}</time>${
      train.finishedAt !== undefined
        ? html`, passed <time datetime="${isoTime(train.finishedAt)}">${formatTime(train.finishedAt)}</time>`
        : ''
    } · ${heard} lock${heard === 1 ? '' : 's'} heard${train.expected !== undefined ? html` of ${train.expected} on the consist list` : ''}
    · ${counts(train)}
  </p>
  <ol class="strip" aria-label="locks of train ${train.trainId}, wagon by wagon">
    ${train.locks.map((lock, i) => lockCell(lock, i + 1))}
  </ol>
</section>`;
}

export function renderLegend(): Html {
  return html`<ul class="legend" aria-label="legend">${LOCK_STATES.map(
    (s) => html`<li class="lock s-${s}"><span class="state">${STATE_LABELS[s]}</span></li>`,
  )}</ul>`;
}
