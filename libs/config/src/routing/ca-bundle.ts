import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A `ca_file` that cannot be used; the message names the provider and the file. */
export class CaBundleError extends Error {
  constructor(
    readonly providerId: string,
    readonly file: string,
    reason: string,
  ) {
    super(`provider '${providerId}': ca_file '${file}' ${reason}`);
    this.name = 'CaBundleError';
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The certificates of a CA file as PEM strings, each checked to be an X.509 certificate. A file with PEM blocks may
 * hold several (a bundle: root and intermediates); a file without any is read as one DER certificate (the Russian
 * Trusted Root CA is published as `.cer`/`.crt` in both encodings) and converted to PEM, which is what TLS wants.
 */
export function parseCaBundle(bytes: Buffer, providerId: string, file: string): string[] {
  const text = bytes.toString('latin1');
  const blocks = text.match(PEM_BLOCK);
  if (blocks) {
    return blocks.map((block, i) => {
      try {
        return new X509Certificate(block).toString();
      } catch (error) {
        throw new CaBundleError(
          providerId,
          file,
          `holds an invalid certificate (#${i + 1}: ${(error as Error).message})`,
        );
      }
    });
  }
  if (bytes.length === 0) throw new CaBundleError(providerId, file, 'is empty');
  try {
    return [new X509Certificate(bytes).toString()];
  } catch {
    throw new CaBundleError(providerId, file, 'is neither PEM certificates nor one DER certificate');
  }
}

/** Reads and parses a provider's `ca_file` (see {@link parseCaBundle}); a missing or unreadable file is named. */
export function loadCaBundle(file: string, providerId: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new CaBundleError(providerId, file, `cannot be read (${(error as Error).message})`);
  }
  return parseCaBundle(bytes, providerId, file);
}
