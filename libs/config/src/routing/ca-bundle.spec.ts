import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPki, type TestPki } from '../../../../test/support/test-ca';
import { CaBundleError, loadCaBundle } from './ca-bundle';

describe('loadCaBundle', () => {
  let pki: TestPki;
  let other: TestPki;

  beforeAll(() => {
    pki = createTestPki('Bundle Test CA');
    other = createTestPki('Second Test CA');
  });
  afterAll(() => {
    pki.remove();
    other.remove();
  });

  const subjects = (pems: string[]): string[] => pems.map((pem) => new X509Certificate(pem).subject);

  it('should read a PEM certificate', () => {
    expect(subjects(loadCaBundle(pki.caPemFile, 'giga'))).toEqual(['CN=Bundle Test CA']);
  });

  it('should convert a DER certificate to PEM', () => {
    const pems = loadCaBundle(pki.caDerFile, 'giga');
    expect(pems).toHaveLength(1);
    expect(pems[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(pems[0]).toBe(readFileSync(pki.caPemFile, 'utf8'));
  });

  it('should read every certificate of a PEM bundle, with text between them', () => {
    const file = join(pki.dir, 'bundle.pem');
    writeFileSync(
      file,
      `# root\n${readFileSync(pki.caPemFile, 'utf8')}\nsubject=second\n${readFileSync(other.caPemFile, 'utf8')}`,
    );
    expect(subjects(loadCaBundle(file, 'giga'))).toEqual(['CN=Bundle Test CA', 'CN=Second Test CA']);
  });

  it('should name the provider and the file when the file is missing', () => {
    const missing = join(pki.dir, 'nope.pem');
    expect(() => loadCaBundle(missing, 'giga')).toThrow(CaBundleError);
    expect(() => loadCaBundle(missing, 'giga')).toThrow(`provider 'giga': ca_file '${missing}' cannot be read (ENOENT`);
  });

  it('should refuse a file that is no certificate', () => {
    const file = join(pki.dir, 'garbage.pem');
    writeFileSync(file, 'this is not a certificate\n');
    expect(() => loadCaBundle(file, 'giga')).toThrow(
      `provider 'giga': ca_file '${file}' is neither PEM certificates nor one DER certificate`,
    );
  });

  it('should refuse an empty file', () => {
    const file = join(pki.dir, 'empty.pem');
    writeFileSync(file, '');
    expect(() => loadCaBundle(file, 'giga')).toThrow(`ca_file '${file}' is empty`);
  });

  it('should refuse a PEM block whose contents are broken', () => {
    const file = join(pki.dir, 'broken.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => loadCaBundle(file, 'giga')).toThrow(`ca_file '${file}' holds an invalid certificate (#1`);
  });

  it('should refuse a directory', () => {
    expect(() => loadCaBundle(pki.dir, 'giga')).toThrow(`ca_file '${pki.dir}' cannot be read (EISDIR`);
  });
});
