/** Short names for the API's schemas (components/schemas of the OpenAPI document). */
import type { components, paths } from '@mosis/api-client';

export type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Role = User['role'];
export type App = Schemas['App'];
export type Version = Schemas['Version'];
export type VersionStatus = Version['status'];
export type AppStatus = App['status'];
export type OAuthProvider = paths['/v1/auth/oauth/providers']['get']['responses'][200]['content']['application/json']['providers'][number];
// Apps and versions (the developer's pages)
export type Listing = Schemas['Listing'];
export type Screenshot = Schemas['Screenshot'];
export type Finding = Schemas['Finding'];
export type DryRunResult = Schemas['DryRunResult'];
export type VersionHistoryEntry = Schemas['VersionHistoryEntry'];
export type Channel = NonNullable<Version['channel']>;
