import { createHash } from 'node:crypto';

/** A rendered page and the headers that must travel with it. */
export interface HtmlPage {
  status: number;
  html: string;
  headers: Record<string, string>;
}

const STYLE = `
body{font:16px/1.45 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;display:flex;justify-content:center}
main{background:#fff;margin:48px 16px;padding:28px 32px;border-radius:10px;box-shadow:0 2px 12px #0002;max-width:420px;width:100%}
h1{font-size:20px;margin:0 0 12px}
p{margin:8px 0}
ul{margin:4px 0 16px;padding-left:20px}
label{display:block;margin:12px 0 4px;font-weight:600}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:8px 10px;border:1px solid #bbc;border-radius:6px;font:inherit}
.error{background:#fdecea;color:#8a1c12;padding:8px 12px;border-radius:6px}
.muted{color:#5b6275;font-size:14px;word-break:break-all}
.actions{display:flex;gap:12px;margin-top:20px}
button{flex:1;padding:10px;border-radius:6px;border:1px solid #1d4ed8;font:inherit;cursor:pointer}
button[value=approve]{background:#1d4ed8;color:#fff}
button[value=deny]{background:#fff;color:#1d4ed8}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]);
}

/**
 * No scripts, no external anything, the one inline style by hash, never framed (clickjacking), and the form may only
 * post here or — since browsers apply `form-action` to the redirect that follows the post — to the client's redirect.
 */
function securityHeaders(formTargets: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `style-src ${STYLE_HASH}`,
      `form-action ${formTargets}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  };
}

/** The CSP source of a redirect URI: its origin for http(s), its scheme for a private-use scheme. */
function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : url.protocol;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

export interface LoginPageInput {
  clientName: string;
  redirectUri: string;
  scopes: readonly string[];
  /** The authorization request's parameters, sent back as hidden fields. */
  params: Readonly<Record<string, string | undefined>>;
  email?: string;
  error?: string;
  status?: number;
}

/** The login and consent form: email, password, Approve or Deny, the original request in hidden fields. */
export function renderLoginPage(input: LoginPageInput): HtmlPage {
  const hidden = Object.entries(input.params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const scopes = input.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  const body = `<h1>Sign in to XRouter</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks to use XRouter on your behalf with these permissions:</p>
<ul>${scopes}</ul>
<p class="muted">You will be sent back to ${escapeHtml(input.redirectUri)}</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="/oauth/authorize">
${hidden}
<label for="email">Email</label>
<input id="email" type="email" name="email" autocomplete="username" required value="${escapeHtml(input.email ?? '')}">
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
<button type="submit" name="decision" value="approve">Approve</button>
</div>
</form>`;
  return {
    status: input.status ?? 200,
    html: layout('Sign in to XRouter', body),
    headers: securityHeaders(`'self' ${redirectSource(input.redirectUri)}`),
  };
}

/** A request that cannot be sent back to the client (unknown client, untrusted redirect URI): shown, not redirected. */
export function renderErrorPage(status: number, message: string): HtmlPage {
  const body = `<h1>This sign-in request cannot continue</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>
<p class="muted">Go back to the application you came from and try again, or tell its developers.</p>`;
  return { status, html: layout('Sign-in error', body), headers: securityHeaders("'none'") };
}
