import { escapeHtml, renderErrorPage, renderLoginPage } from './authorize.page';

describe('authorize page', () => {
  const page = renderLoginPage({
    clientName: '<script>alert("x")</script>',
    redirectUri: 'https://app.example.com/cb',
    scopes: ['chat'],
    params: { client_id: 'c', state: '"><img src=x onerror=alert(1)>', scope: undefined },
    email: "o'brien@example.com",
  });

  it('should escape everything that came from the request or the client', () => {
    expect(page.html).not.toContain('<script>');
    expect(page.html).not.toContain('<img');
    expect(page.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page.html).toContain('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(page.html).toContain('value="o&#39;brien@example.com"');
    expect(page.html).not.toContain('name="scope"');
  });

  it('should forbid framing, scripts and foreign form targets', () => {
    expect(page.status).toBe(200);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' https://app.example.com");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(page.html).not.toMatch(/<(script|link|img)\b/);
  });

  it('should allow a private-use scheme redirect as a form target by scheme', () => {
    const native = renderLoginPage({ clientName: 'n', redirectUri: 'com.example.app:/cb', scopes: [], params: {} });
    expect(native.headers['content-security-policy']).toContain("form-action 'self' com.example.app:");
  });

  it('should render errors without any form target', () => {
    const error = renderErrorPage(400, 'Unknown <client>');
    expect(error.status).toBe(400);
    expect(error.html).toContain('Unknown &lt;client&gt;');
    expect(error.headers['content-security-policy']).toContain("form-action 'none'");
  });

  it('should escape the five HTML metacharacters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
