import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { CredentialService } from '../credential.service';
import { UserEntity } from '../entities/user.entity';
import { hashPassword, verifyPassword } from '../password';
import type { BudgetDto } from '../budget.dto';
import type { CreateUserDto, UserDto } from './user.dto';

export function toUserDto(user: UserEntity): UserDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    disabled: user.disabledAt !== null,
    monthly_token_budget: user.monthlyTokenBudget === null ? null : Number(user.monthlyTokenBudget),
    monthly_budget_rub: user.monthlyBudgetRub,
    created_at: user.createdAt.toISOString(),
  };
}

/** Users and their lifecycle. Disabling a user cuts off every credential of theirs on every replica at once. */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly credentials: CredentialService,
  ) {}

  async create(dto: CreateUserDto): Promise<UserDto> {
    try {
      const user = await this.users.save(
        this.users.create({
          email: dto.email.trim(),
          name: dto.name ?? '',
          role: dto.role,
          passwordHash: dto.password ? await hashPassword(dto.password) : null,
          disabledAt: null,
          monthlyTokenBudget: null,
          monthlyBudgetRub: null,
        }),
      );
      return toUserDto(user);
    } catch (error) {
      if (error instanceof QueryFailedError && /users_email_key/.test(error.message)) {
        throw new GatewayError(ErrorCode.BAD_REQUEST, `A user with the email '${dto.email}' exists already`, {
          param: 'email',
        });
      }
      throw error;
    }
  }

  /**
   * The id of the enabled user with this email (in any case) when `password` is theirs, else null. An unknown email,
   * a disabled user or one without a password costs the same one verification as a wrong password.
   */
  async verifySignIn(email: string, password: string): Promise<string | null> {
    const user = await this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = lower(:email)', { email })
      .getOne();
    const usable = user && !user.disabledAt ? user.passwordHash : null;
    return (await verifyPassword(usable, password)) && user ? user.id : null;
  }

  async list(): Promise<UserDto[]> {
    return (await this.users.find({ order: { createdAt: 'ASC' } })).map(toUserDto);
  }

  async get(id: string): Promise<UserDto> {
    return toUserDto(await this.find(id));
  }

  async setDisabled(id: string, disabled: boolean): Promise<UserDto> {
    const user = await this.find(id);
    await this.credentials.assertCanAnnounce();
    user.disabledAt = disabled ? (user.disabledAt ?? new Date()) : null;
    await this.users.save(user);
    // Every cached credential may belong to this user: drop them all, everywhere (a rare admin action).
    await this.credentials.invalidateAll();
    return toUserDto(user);
  }

  /** Sets or clears the user's monthly budget (covering all their keys and tokens). */
  async setBudget(id: string, budget: BudgetDto): Promise<UserDto> {
    const user = await this.find(id);
    await this.credentials.assertCanAnnounce();
    if (budget.monthly_token_budget !== undefined)
      user.monthlyTokenBudget = budget.monthly_token_budget?.toString() ?? null;
    if (budget.monthly_budget_rub !== undefined) user.monthlyBudgetRub = budget.monthly_budget_rub;
    await this.users.save(user);
    await this.credentials.invalidateAll();
    return toUserDto(user);
  }

  private async find(id: string): Promise<UserEntity> {
    const user = /^[0-9a-f-]{36}$/i.test(id) ? await this.users.findOneBy({ id }) : null;
    if (!user) throw new GatewayError(ErrorCode.NOT_FOUND, `No user with id '${id}'`);
    return user;
  }
}
