/** Something a provider created that costs money or space until deleted. */
export interface ManagedResource {
  /** "container", "instance", "key-pair", "directory", … */
  kind: string;
  /** The provider's id for it. */
  id: string;
  ownerId?: string;
  jobId?: string;
  /** After this time nobody should still be using it. */
  expiresAt?: Date;
  /** Provider-specific details needed to delete it (zone, region, …). */
  details?: Record<string, string>;
}
