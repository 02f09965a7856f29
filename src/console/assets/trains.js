// The live strip of the trains page: Server-Sent Events from /events/trains carry each
// train's section already rendered (and escaped) by the server; this script only swaps it
// in. Served from the agent itself (no CDN), allowed by the console's CSP script-src 'self'.

(() => {
  const board = document.getElementById('trains');
  const status = document.getElementById('live-status');
  const empty = document.getElementById('no-trains');
  if (!board || !status || typeof EventSource === 'undefined') return;
  const keep = 5;

  // The words come with the page, in the officer's language.
  const show = (state) => {
    status.textContent = status.dataset[state] ?? state;
    status.className = state;
  };

  const place = (trainId, markup) => {
    const template = document.createElement('template');
    template.innerHTML = markup;
    const fresh = template.content.firstElementChild;
    if (!fresh) return;
    const old = board.querySelector(`[data-train-id="${CSS.escape(trainId)}"]`);
    if (old) old.replaceWith(fresh);
    else board.prepend(fresh);
    while (board.children.length > keep) board.lastElementChild.remove();
    if (empty) empty.hidden = true;
  };

  const source = new EventSource('/events/trains');
  source.addEventListener('open', () => show('live'));
  source.addEventListener('train', (event) => {
    const { trainId, html } = JSON.parse(event.data);
    place(trainId, html);
  });
  // The session ended (logout elsewhere, idle time): back to the login page.
  source.addEventListener('expired', () => {
    source.close();
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  });
  source.addEventListener('error', () => {
    show('down');
    if (source.readyState !== EventSource.CLOSED) return;
    // Closed for good (e.g. 401): find out whether the session is gone.
    fetch('/api/session', { credentials: 'same-origin' }).then((r) => {
      if (r.status === 401) location.assign('/login');
      else show('stopped');
    });
  });
})();
