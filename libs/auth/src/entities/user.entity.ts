import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../principal';

@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text', { default: '' }) name!: string;
  @Column('text') role!: Role;
  @Column('text', { name: 'password_hash', nullable: true, select: false }) passwordHash!: string | null;
  @Column('timestamptz', { name: 'disabled_at', nullable: true }) disabledAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('bigint', { name: 'monthly_token_budget', nullable: true }) monthlyTokenBudget!: string | null;
  @Column('numeric', { name: 'monthly_budget_rub', nullable: true, precision: 20, scale: 9 }) monthlyBudgetRub!:
    string | null;
}
