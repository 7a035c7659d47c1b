import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway certificate authority and a loopback server certificate it signed, generated with the openssl CLI. */
export interface TestPki {
  /** The directory holding every file below; {@link TestPki.remove} deletes it. */
  readonly dir: string;
  /** The CA certificate, PEM. */
  readonly caPemFile: string;
  /** The same CA certificate, DER. */
  readonly caDerFile: string;
  /** The server certificate (CN/SAN 127.0.0.1 and localhost) and its key, PEM. */
  readonly serverCert: string;
  readonly serverKey: string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates a CA (`name` in its subject) and a server certificate for 127.0.0.1 signed by it. Nothing is committed:
 * every run makes its own keys in a temporary directory.
 */
export function createTestPki(name = 'XRouter Test Root CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'xrouter-pki-'));
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  openssl(dir, ['x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der']);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']); // prettier-ignore
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-out', 'server.pem', '-extfile', 'server.ext',
  ]); // prettier-ignore
  return {
    dir,
    caPemFile: join(dir, 'ca.pem'),
    caDerFile: join(dir, 'ca.der'),
    serverCert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    serverKey: readFileSync(join(dir, 'server.key'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
