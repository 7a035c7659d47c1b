import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CredentialsModule } from '../credentials.module';
import { UserEntity } from '../entities/user.entity';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

/** Users, their lifecycle and their sign-in: the only reader and writer of the `users` table's rows. */
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity]), CredentialsModule],
  controllers: [UsersController],
  providers: [UsersService],
  exports: [UsersService],
})
export class UsersModule {}
