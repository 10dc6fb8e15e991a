import { describe, expect, it } from 'vitest';
import { checkUrls, isPrivateHost, obfuscationReason, shannonEntropy } from './urls.js';

const codes = (text: string) => checkUrls(text).map((problem) => problem.code);

describe('checkUrls', () => {
  it('accepts HTTPS URLs to public hosts', () => {
    expect(codes('see https://api.example.com/v1?q=1 and wss://push.example.com')).toEqual([]);
  });

  it('flags plain HTTP, ws and ftp, even without a host', () => {
    expect(codes('http://example.com/app')).toEqual(['url_insecure']);
    expect(codes('ws://example.com')).toEqual(['url_insecure']);
    expect(codes('local base = "http://" .. host')).toEqual(['url_insecure']);
  });

  it('flags local and private hosts, however they are written', () => {
    for (const url of [
      'https://localhost:3000/',
      'https://127.0.0.1/',
      'https://10.1.2.3/',
      'https://172.20.0.1/',
      'https://192.168.1.1/admin',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://2130706433/',
      'https://0x7f.1/',
      'https://printer.local/',
      'https://LOCALHOST./',
    ]) {
      expect(codes(url), url).toEqual(['url_private_host']);
    }
    expect(codes('http://localhost/')).toEqual(['url_insecure', 'url_private_host']);
  });

  it('does not mistake public addresses for private ones', () => {
    expect(isPrivateHost('172.32.0.1')).toBe(false);
    expect(isPrivateHost('8.8.8.8')).toBe(false);
    expect(isPrivateHost('localhost.example.com')).toBe(false);
  });
});

describe('obfuscationReason', () => {
  it('flags very long and high-entropy strings, not ordinary text', () => {
    expect(obfuscationReason('x'.repeat(1001))).toMatch(/1001 characters/);
    let random = '';
    for (let i = 0; i < 300; i++) random += String.fromCharCode(33 + ((i * 7919 + ((i * i) % 89)) % 94));
    expect(shannonEntropy(random)).toBeGreaterThan(5.5);
    expect(obfuscationReason(random)).toMatch(/entropy/);
    expect(obfuscationReason('The quick brown fox jumps over the lazy dog. '.repeat(5))).toBeNull();
    expect(obfuscationReason(random.slice(0, 199))).toBeNull();
  });
});
