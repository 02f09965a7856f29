import { type Html, html } from '../html.js';
import type { Locale } from '../i18n/locale.js';
import { technicalDetail } from '../respond.js';
import { LOCK_STATES, type LockState, type LockView, type TrainView } from '../train-feed.js';
import { describeLockProblem, LOCK_STATE_KEYS } from './words.js';

/** Words beside the colour (in every language), so the strip reads the same to a colour-blind officer and on a grey screen. */
function stateWord(l: Locale, state: LockState): Html {
  return l.t(LOCK_STATE_KEYS[state]);
}

function lockCell(l: Locale, lock: LockView, position: number): Html {
  const percent = lock.total > 0 ? Math.min(100, Math.floor((lock.bytes / lock.total) * 100)) : 0;
  const inner = html`<span class="pos">${l.integer(position)}</span>
    <span class="wagon" title="${l.t('lock.wagon')}" translate="no">${lock.wagon ?? '—'}</span>
    <span class="container" title="${l.t('lock.container')}" translate="no">${lock.container ?? ''}</span>
    <span class="lock-id" title="${l.t('lock.lock')}" translate="no">${lock.lockId}</span>
    <span class="state">${stateWord(l, lock.state)}</span>
    ${
      lock.state === 'reading'
        ? html`<progress max="100" value="${percent}" aria-label="${l.t('lock.progress')}">${l.integer(percent)}%</progress>
          <span class="bytes">${l.t('lock.bytes', { read: l.bytes(lock.bytes), total: l.bytes(lock.total) })}</span>`
        : ''
    }
    ${lock.retries > 0 ? html`<span class="retries">${l.t('lock.retries', { count: lock.retries })}</span>` : ''}
    ${
      lock.error
        ? html`<span class="why">${describeLockProblem(l, lock.error)}</span>${
            // A lock with a manifest links to its page, which shows the reads and alerts in full.
            lock.manifestId ? '' : technicalDetail(l.t('detail.short'), lock.error)
          }`
        : ''
    }`;
  return html`<li class="lock s-${lock.state}" data-lock-id="${lock.lockId}" data-state="${lock.state}"
    data-bytes="${lock.bytes}" data-total="${lock.total}">${
      lock.manifestId ? html`<a href="/manifests/${lock.manifestId}">${inner}</a>` : html`<div>${inner}</div>`
    }</li>`;
}

function counts(l: Locale, train: TrainView): Html {
  const by = new Map<LockState, number>();
  for (const lock of train.locks) by.set(lock.state, (by.get(lock.state) ?? 0) + 1);
  return html`${LOCK_STATES.filter((s) => by.has(s)).map(
    (s) =>
      html`<span class="count s-${s}" data-count="${s}">${l.t('train.count', { state: stateWord(l, s), count: l.integer(by.get(s)!) })}</span> `,
  )}`;
}

/** One train: header, counts by state, and the wagon-by-wagon strip in train order. */
export function renderTrain(l: Locale, train: TrainView): Html {
  const passing = train.finishedAt === undefined;
  const heard = train.locks.filter((lock) => lock.state !== 'missing').length;
  const trainId = html`<span class="train-id" translate="no">${train.trainId}</span>`;
  const when = passing
    ? l.t('train.startedAt', { started: l.time(train.startedAt) })
    : l.t('train.startedPassedAt', { started: l.time(train.startedAt), passed: l.time(train.finishedAt) });
  const heardText =
    train.expected === undefined
      ? l.t('train.heard', { heard })
      : l.t('train.heardOf', { heard, expected: train.expected });
  return html`<section class="train${passing ? ' passing' : ''}" data-train-id="${train.trainId}"
    data-finished="${passing ? 'false' : 'true'}">
  <h2>${l.t('train.heading', { train: trainId })}
    <span class="badge">${l.t(passing ? 'train.passing' : 'train.passed')}</span></h2>
  <p class="summary">${when} · ${heardText} · ${counts(l, train)}</p>
  <ol class="strip" aria-label="${l.t('train.stripLabel', { train: train.trainId })}">
    ${train.locks.map((lock, i) => lockCell(l, lock, i + 1))}
  </ol>
</section>`;
}

export function renderLegend(l: Locale): Html {
  return html`<ul class="legend" aria-label="${l.t('legend.label')}">${LOCK_STATES.map(
    (s) => html`<li class="lock s-${s}"><span class="state">${stateWord(l, s)}</span></li>`,
  )}</ul>`;
}
