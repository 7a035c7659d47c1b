import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { HasNoNul } from '@xrouter/common';
import type { Role } from '../principal';

export class CreateUserDto {
  @ApiProperty({ example: 'dev@example.com' }) @IsEmail() @HasNoNul() @MaxLength(254) email!: string;
  @ApiPropertyOptional({ example: 'Анна Петрова' }) @IsOptional() @IsString() @HasNoNul() @MaxLength(200) name?: string;
  @ApiProperty({ enum: ['admin', 'user'], example: 'user' }) @IsIn(['admin', 'user']) role!: Role;
  @ApiPropertyOptional({
    example: 'correct horse battery staple',
    description: 'For the OAuth login page; 12+ characters',
  })
  @IsOptional()
  @IsString()
  @MinLength(12)
  @MaxLength(200)
  password?: string;
}

export class UserDto {
  @ApiProperty({ example: '5f0c6f0e-8f7a-4c55-9d1e-2b1f0d7c9a11' }) id!: string;
  @ApiProperty({ example: 'dev@example.com' }) email!: string;
  @ApiProperty({ example: 'Анна Петрова' }) name!: string;
  @ApiProperty({ enum: ['admin', 'user'] }) role!: Role;
  @ApiProperty({ example: false }) disabled!: boolean;
  @ApiProperty({ type: Number, nullable: true }) monthly_token_budget!: number | null;
  @ApiProperty({ type: String, nullable: true }) monthly_budget_rub!: string | null;
  @ApiProperty({ example: '2026-11-23T12:00:00.000Z' }) created_at!: string;
}
