import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contentDigestOf, contentDigestProblem } from '../lib/content-digest';
import { RFC9530 } from './fixtures/rfc9421';

describe('Content-Digest (RFC 9530)', () => {
  describe('the RFC 9530 Appendix D sample digests of {"hello": "world"}', () => {
    it('sha-256', () => {
      expect(contentDigestOf(RFC9530.content)).toBe(`sha-256=${RFC9530.sha256}`);
      expect(contentDigestOf(Buffer.from(RFC9530.content), 'sha-256')).toBe(`sha-256=${RFC9530.sha256}`);
    });

    it('sha-512', () => {
      expect(contentDigestOf(RFC9530.content, 'sha-512')).toBe(`sha-512=${RFC9530.sha512}`);
    });

    it('the same content followed by a line feed, as in the RFC 9530 Section 2 and Appendix B examples', () => {
      expect(contentDigestOf(`${RFC9530.content}\n`)).toBe(RFC9530.contentDigestWithNewline);
      expect(contentDigestOf(`${RFC9530.content}\n`, 'sha-512')).toBe(RFC9530.contentDigestSha512WithNewline);
    });

    it('the RFC 9421 test-request carries a Content-Digest that matches its body', () => {
      expect(contentDigestProblem(RFC9530.testRequestContentDigest, RFC9530.content)).toBeUndefined();
    });
  });

  describe('a Content-Digest that matches', () => {
    it('one supported algorithm', () => {
      expect(contentDigestProblem(contentDigestOf('{}'), '{}')).toBeUndefined();
      expect(contentDigestProblem(contentDigestOf('{}', 'sha-512'), Buffer.from('{}'))).toBeUndefined();
    });

    it('both, and unsupported algorithms beside them are ignored', () => {
      const header = `md5=:Sd/dVLAcvNLSq16eXua5uQ==:, ${contentDigestOf('{}')}, ${contentDigestOf('{}', 'sha-512')}`;
      expect(contentDigestProblem(header, '{}')).toBeUndefined();
    });
  });

  describe('the attacker', () => {
    it('sends no Content-Digest', () => {
      expect(contentDigestProblem(undefined, '{}')).toBe('Content-Digest is missing');
      expect(contentDigestProblem('  ', '{}')).toBe('Content-Digest is missing');
    });

    it('changes the body', () => {
      expect(contentDigestProblem(contentDigestOf('{"a":1}'), '{"a":2}')).toBe('Content-Digest sha-256 does not match the body');
    });

    it('pairs a true sha-512 with a false sha-256', () => {
      const header = `sha-256=${RFC9530.sha256}, ${contentDigestOf('{"a":2}', 'sha-512')}`;
      expect(contentDigestProblem(header, '{"a":2}')).toBe('Content-Digest sha-256 does not match the body');
    });

    it('offers only weak algorithms (RFC 9530 Appendix D values of md5 and sha)', () => {
      expect(contentDigestProblem('md5=:Sd/dVLAcvNLSq16eXua5uQ==:, sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:', RFC9530.content)).toBe(
        'Content-Digest holds no supported algorithm (sha-256, sha-512), got md5, sha',
      );
    });

    it('sends something that is not a dictionary', () => {
      expect(contentDigestProblem('sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', RFC9530.content)).toBe(
        'Content-Digest is not a structured dictionary of byte sequences (RFC 9530)',
      );
      expect(contentDigestProblem('SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:', RFC9530.content)).toBe(
        'Content-Digest is not a structured dictionary of byte sequences (RFC 9530)',
      );
    });

    it('sends a digest that is not a byte sequence', () => {
      expect(contentDigestProblem('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', RFC9530.content)).toBe(
        'Content-Digest sha-256 must be a byte sequence (:base64:)',
      );
      expect(contentDigestProblem('sha-256=(:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:)', RFC9530.content)).toBe(
        'Content-Digest sha-256 must be a byte sequence (:base64:)',
      );
    });
  });

  it('structured-headers is the version lib/structured-fields.ts works around (its types under "exports" only)', () => {
    const packageFile = path.join(path.dirname(require.resolve('structured-headers')), '..', 'package.json');
    expect(JSON.parse(readFileSync(packageFile, 'utf8')).version).toBe('2.1.0');
  });
});
