import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { EXIF_SECRETS, fetchMedia, gif, imageRows, jpegWithExif, multipart, png, pngBomb, storedBlobs, uploadImage, webp } from '../support/images.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';

async function developerWithApp(p: TestPortal): Promise<{ dev: TestUser; appId: string }> {
  const dev = await registerUser(p);
  const app = await createApp(p, dev, 'com.example.notes');
  return { dev, appId: app.id };
}

const staging = (p: TestPortal) => readdir(path.join(p.config.packagesDir, '.staging')).catch(() => []);

/** Nothing of a refused upload may remain: no row, no blob, no staging file. */
async function expectNothingStored(p: TestPortal, blobsBefore: string[] = []): Promise<void> {
  expect(await imageRows(p)).toEqual([]);
  expect(await storedBlobs(p)).toEqual(blobsBefore);
  expect(await staging(p)).toEqual([]);
}

describeOnSqlite('app icon', (portal) => {
  it('takes a square PNG, stores a 512×512 PNG by its hash and serves it publicly and immutably', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const res = await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await png(256, 256));
    expect(res.statusCode, res.body).toBe(200);
    const app = res.json();
    expect(app.id).toBe(appId);
    expect(app.icon_url).toMatch(/^\/v1\/media\/[0-9a-f]{64}$/);
    const sha256 = String(app.icon_url).split('/').pop();
    expect(await storedBlobs(p)).toEqual([sha256]);
    expect(await imageRows(p)).toEqual([expect.objectContaining({ app_id: appId, kind: 'icon', sha256, width: 512, height: 512, content_type: 'image/png' })]);
    expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}`, headers: dev.auth })).json()).toEqual(app);

    // Public: no credentials.
    const { res: media, meta } = await fetchMedia(p, app.icon_url);
    expect(media.statusCode).toBe(200);
    expect(media.headers['content-type']).toBe('image/png');
    expect(media.headers['etag']).toBe(`"${sha256}"`);
    expect(media.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(Number(media.headers['content-length'])).toBe(media.rawPayload.length);
    expect(meta).toMatchObject({ format: 'png', width: 512, height: 512 });
    const cached = await p.app.inject({ method: 'GET', url: app.icon_url, headers: { 'if-none-match': `"${sha256}"` } });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    // HEAD: the size and type without the bytes.
    const head = await p.app.inject({ method: 'HEAD', url: app.icon_url });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('image/png');
    expect(Number(head.headers['content-length'])).toBe(media.rawPayload.length);
    expect(head.rawPayload.length).toBe(0);
  });

  it('strips EXIF from a JPEG icon sent as multipart', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const jpeg = await jpegWithExif(300, 300);
    for (const secret of EXIF_SECRETS) expect(jpeg.includes(secret)).toBe(true);
    const form = multipart('image', 'icon.jpg', 'image/jpeg', jpeg);
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/icon`, headers: { ...dev.auth, 'content-type': form.contentType }, payload: form.payload });
    expect(res.statusCode, res.body).toBe(200);
    const { body, meta } = await fetchMedia(p, res.json().icon_url);
    for (const secret of EXIF_SECRETS) expect(body.includes(secret)).toBe(false);
    expect(meta).toMatchObject({ format: 'png', width: 512, height: 512 });
    expect(meta?.exif).toBeUndefined();
    expect(meta?.xmp).toBeUndefined();
    expect(meta?.icc).toBeUndefined();
  });

  it('replaces the icon: one icon row, the old address is no longer served', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const first = (await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await png(128, 128))).json();
    const second = await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await webp(1024, 1024, { r: 20, g: 160, b: 60 }), 'image/webp');
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().icon_url).not.toBe(first.icon_url);
    expect((await imageRows(p)).map((r) => r.kind)).toEqual(['icon']);
    expectProblem((await fetchMedia(p, first.icon_url)).res, 404, 'media_not_found');
    expect((await fetchMedia(p, second.json().icon_url)).res.statusCode).toBe(200);
  });

  it('removes the icon', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const { icon_url: url } = (await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await png(128, 128))).json();
    const res = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}/icon`, headers: dev.auth });
    expect(res.statusCode, res.body).toBe(204);
    expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}`, headers: dev.auth })).json().icon_url).toBeNull();
    expectProblem((await fetchMedia(p, url)).res, 404, 'media_not_found');
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}/icon`, headers: dev.auth }), 404, 'icon_not_found');
  });

  it.each([
    ['not square', () => png(300, 200), 'image_dimensions'],
    ['smaller than 128×128', () => png(64, 64), 'image_dimensions'],
    ['larger than 1024×1024', () => png(2048, 2048), 'image_dimensions'],
    ['a GIF', () => gif(256, 256), 'image_unsupported_type'],
    ['a decompression bomb (20000×20000 declared)', () => Promise.resolve(pngBomb()), 'image_invalid'],
    ['a truncated PNG', async () => (await png(256, 256)).subarray(0, 120), 'image_invalid'],
  ])('refuses an icon that is %s (422) and stores nothing', async (_what, make, code) => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const res = await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await make());
    expectProblem(res, 422, code);
    await expectNothingStored(p);
  });

  it('refuses a text file named icon.png (422 image_unsupported_type) and stores nothing', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const form = multipart('image', 'icon.png', 'image/png', Buffer.from('#!/bin/sh\necho this is not an image\n'));
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/icon`, headers: { ...dev.auth, 'content-type': form.contentType }, payload: form.payload });
    expectProblem(res, 422, 'image_unsupported_type');
    await expectNothingStored(p);
  });

  it('stops an upload over 10 MiB mid-stream (413) and stores nothing', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const head = await png(256, 256);
    // A stream has no Content-Length, so only the meter in the blob store can stop it.
    const chunks = [head, ...Array.from({ length: 11 }, () => Buffer.alloc(1024 * 1024, 7))];
    const res = await p.app.inject({
      method: 'POST',
      url: `/v1/apps/${appId}/icon`,
      headers: { ...dev.auth, 'content-type': 'image/png' },
      payload: Readable.from(chunks),
    });
    expectProblem(res, 413, 'payload_too_large');
    await expectNothingStored(p);
    const declared = await uploadImage(p, dev, `/v1/apps/${appId}/icon`, Buffer.concat(chunks));
    expectProblem(declared, 413, 'payload_too_large');
    await expectNothingStored(p);
  });

  it('answers 400 image_missing for the wrong multipart field and 415 for a JSON body', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const form = multipart('package', 'icon.png', 'image/png', await png(256, 256));
    const wrongField = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/icon`, headers: { ...dev.auth, 'content-type': form.contentType }, payload: form.payload });
    expectProblem(wrongField, 400, 'image_missing');
    const json = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/icon`, headers: dev.auth, payload: { image: 'data:image/png;base64,AAAA' } });
    expectProblem(json, 415, 'unsupported_media_type');
    await expectNothingStored(p);
  });
});

describeOnSqlite('app screenshots', (portal) => {
  it('adds PNG, JPEG and WebP screenshots, re-encoded, listed and shown on the app', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const url = `/v1/apps/${appId}/screenshots`;
    const a = await uploadImage(p, dev, url, await png(1080, 1920));
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json()).toEqual({ id: expect.any(String), url: expect.stringMatching(/^\/v1\/media\/[0-9a-f]{64}$/), width: 1080, height: 1920 });
    const b = await uploadImage(p, dev, url, await jpegWithExif(1280, 720), 'image/jpeg');
    expect(b.statusCode, b.body).toBe(201);
    const c = await uploadImage(p, dev, url, await webp(3840, 320), 'application/octet-stream');
    expect(c.statusCode, c.body).toBe(201);

    expect((await fetchMedia(p, a.json().url)).meta).toMatchObject({ format: 'png', width: 1080, height: 1920 });
    const jpeg = await fetchMedia(p, b.json().url);
    expect(jpeg.res.headers['content-type']).toBe('image/webp');
    expect(jpeg.meta).toMatchObject({ format: 'webp', width: 1280, height: 720 });
    expect(jpeg.meta?.exif).toBeUndefined();
    for (const secret of EXIF_SECRETS) expect(jpeg.body.includes(secret)).toBe(false);
    expect((await fetchMedia(p, c.json().url)).meta).toMatchObject({ format: 'webp', width: 3840, height: 320 });

    const list = await p.app.inject({ method: 'GET', url, headers: dev.auth });
    expect(list.json()).toEqual({ items: [a.json(), b.json(), c.json()], next_cursor: null });
    const app = (await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}`, headers: dev.auth })).json();
    expect(app.screenshots).toEqual([a.json(), b.json(), c.json()]);
    const page = (await p.app.inject({ method: 'GET', url: '/v1/apps', headers: dev.auth })).json();
    expect(page.items[0].screenshots).toEqual(app.screenshots);
  });

  it('applies EXIF orientation before checking and storing dimensions', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    // Stored 1000×400 but tagged "rotate 90°": it is a 400×1000 portrait screenshot.
    const res = await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await jpegWithExif(1000, 400, 6), 'image/jpeg');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ width: 400, height: 1000 });
    const { meta } = await fetchMedia(p, res.json().url);
    expect(meta).toMatchObject({ width: 400, height: 1000 });
    expect(meta?.orientation).toBeUndefined();
  });

  it('deletes a screenshot; an unknown id answers 404 screenshot_not_found', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const shot = (await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await png(640, 480))).json();
    const res = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}/screenshots/${shot.id}`, headers: dev.auth });
    expect(res.statusCode, res.body).toBe(204);
    expect(await imageRows(p)).toEqual([]);
    expectProblem((await fetchMedia(p, shot.url)).res, 404, 'media_not_found');
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}/screenshots/${shot.id}`, headers: dev.auth }), 404, 'screenshot_not_found');
  });

  it('refuses a ninth screenshot (409 screenshot_limit_reached) and stores nothing more', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    for (let i = 0; i < 8; i += 1) {
      const res = await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await png(320, 320, { r: i * 20, g: 10, b: 10 }));
      expect(res.statusCode, res.body).toBe(201);
    }
    const rows = await imageRows(p);
    const blobs = await storedBlobs(p);
    expect(blobs).toHaveLength(8);
    const res = await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await png(320, 320, { r: 255, g: 255, b: 0 }));
    expectProblem(res, 409, 'screenshot_limit_reached');
    expect(await imageRows(p)).toEqual(rows);
    expect(await storedBlobs(p)).toEqual(blobs);
    expect(await staging(p)).toEqual([]);
  });

  it.each([
    ['smaller than 320 px on a side', () => png(319, 800), 'image_dimensions'],
    ['larger than 3840 px on a side', () => png(3841, 1000), 'image_dimensions'],
    ['a GIF', () => gif(640, 480), 'image_unsupported_type'],
    ['plain text', () => Promise.resolve(Buffer.from('hello, not a picture')), 'image_unsupported_type'],
    ['a decompression bomb (20000×20000 declared)', () => Promise.resolve(pngBomb()), 'image_invalid'],
  ])('refuses a screenshot that is %s (422) and stores nothing', async (_what, make, code) => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    expectProblem(await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await make()), 422, code);
    await expectNothingStored(p);
  });
});

describeOnSqlite('media', (portal) => {
  it('serves only current app images: not other blobs, not unknown or malformed addresses', async () => {
    const p = portal();
    const other = await p.blobs.stage(Readable.from([Buffer.from('a package, not an image')]), { maxBytes: 1024 });
    await other.commit();
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/media/${other.sha256}` }), 404, 'media_not_found');
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/media/${'0'.repeat(64)}` }), 404, 'media_not_found');
    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/media/..%2F..%2Fportal.db' }), 400, 'validation_failed');
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/media/${'A'.repeat(64)}` }), 400, 'validation_failed');
  });

  it('stops serving the images of a deleted app; their blobs stay for the garbage collector', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const app = (await uploadImage(p, dev, `/v1/apps/${appId}/icon`, await png(256, 256))).json();
    const shot = (await uploadImage(p, dev, `/v1/apps/${appId}/screenshots`, await png(640, 480))).json();
    const blobs = await storedBlobs(p);
    expect(await p.core.blobReferences.isReferenced(blobs[0] ?? '')).toBe(true);
    const res = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}`, headers: dev.auth });
    expect(res.statusCode, res.body).toBe(204);
    expect(await imageRows(p)).toEqual([]);
    for (const url of [app.icon_url, shot.url]) expectProblem((await fetchMedia(p, url)).res, 404, 'media_not_found');
    expect(await storedBlobs(p)).toEqual(blobs);
    for (const sha256 of blobs) expect(await p.core.blobReferences.isReferenced(sha256)).toBe(false);
  });
});
