import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { storedFilesOptions } from '../../src/roles/role-options.ts';

describe('FILE_STORE=s3 configuration, checked at start-up', () => {
  it('names the missing or bad variable', () => {
    expect(() => loadConfig({ FILE_STORE: 's3' })).toThrow(/S3_BUCKET: required when FILE_STORE=s3/);
    expect(() => loadConfig({ FILE_STORE: 'disk' })).toThrow(/FILE_STORE: must be postgres or s3/);
    expect(() => loadConfig({ FILE_STORE: 's3', S3_BUCKET: 'Bad_Bucket' })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ FILE_STORE: 's3', S3_BUCKET: 'b-1', S3_ENDPOINT: 'minio:9000' })).toThrow(
      /S3_ENDPOINT/,
    );
    expect(() => loadConfig({ FILE_STORE: 's3', S3_BUCKET: 'b-1', S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      /S3_FORCE_PATH_STYLE/,
    );
  });

  it('defaults the prefix to tally/ and leaves PostgreSQL the default store', () => {
    expect(storedFilesOptions(loadConfig({}))).toEqual({ store: 'postgres', stagingLeaseMs: 120_000 });
    const config = loadConfig({
      FILE_STORE: 's3',
      S3_BUCKET: 'uploads',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(storedFilesOptions(config).s3).toEqual({
      bucket: 'uploads',
      prefix: 'tally/',
      endpoint: 'http://127.0.0.1:9000',
      region: undefined,
      forcePathStyle: true,
    });
  });
});
