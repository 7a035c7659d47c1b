import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A registered third-party app: a public client (no secret) that must use PKCE and one of its exact redirect URIs. */
@Entity('oauth_clients')
export class OAuthClientEntity {
  /** Doubles as the public `client_id`. */
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'redirect_uris', array: true }) redirectUris!: string[];
  /** The most a token issued to this client may do; a token's scopes are always intersected with these. */
  @Column('text', { array: true, default: '{}' }) scopes!: string[];
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  /** Deleted clients are kept (their tokens reference them) but can neither authorize nor use tokens. */
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt!: Date | null;
}
