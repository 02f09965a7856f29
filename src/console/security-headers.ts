/**
 * Sent with every response of the console. The console's own markup uses no inline
 * script or style and loads nothing from elsewhere, so the policy can be strict: a
 * manifest field that slipped through escaping still could not run script or call out.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Nothing to other sites; same-origin requests keep their Origin header, which the login's
  // cross-site check needs (under no-referrer chromium sends `Origin: null` with a form post).
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=()',
};

/** Confidential pages are never kept by the browser or a proxy (CTOP Protocol Art. 6). */
export const NO_STORE = 'no-store';
