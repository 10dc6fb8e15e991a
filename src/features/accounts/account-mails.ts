import type { MailMessage } from '../notifications/index.js';
import type { User } from './accounts.table.js';

/** The words of each account mail; links point at the portal UI under `baseUrl`. */

export function verificationMail(user: User, token: string, baseUrl: string): MailMessage {
  return {
    to: user.email,
    subject: 'Confirm your email for Mosis Portal',
    text: [
      `Welcome to Mosis Portal, ${user.name}.`,
      '',
      `Confirm ${user.email} within 24 hours: ${baseUrl}/verify-email?token=${token}`,
      '',
      `Or send the token to POST /v1/auth/verify-email: ${token}`,
      '',
      // Confirming would vouch for an account someone else holds the password of.
      'If you did not sign up, do not confirm: someone else typed your address. Ignore this message.',
    ].join('\n'),
  };
}

export function passwordResetMail(user: User, token: string, baseUrl: string): MailMessage {
  return {
    to: user.email,
    subject: 'Reset your Mosis Portal password',
    text: [
      `Someone (hopefully you) asked to reset the password of ${user.email}.`,
      '',
      `Open this link within an hour to choose a new one: ${baseUrl}/reset-password?token=${token}`,
      '',
      `Or send the token to POST /v1/auth/password/reset: ${token}`,
      '',
      'Choosing a new password signs you out everywhere and revokes all your API keys; create new keys afterwards.',
      '',
      'If you did not ask, ignore this message; your password stays as it is.',
    ].join('\n'),
  };
}

/** To the owner of an address someone tried to sign up with: no link, nothing to use. */
export function signUpAttemptMail(user: User, baseUrl: string): MailMessage {
  return {
    to: user.email,
    subject: 'Someone tried to sign up to Mosis Portal with your address',
    text: [
      `Someone (hopefully you) tried to create a Mosis Portal account for ${user.email}, which already has one.`,
      '',
      `If it was you, sign in at ${baseUrl}/ instead. If you forgot your password, ask for a reset link`,
      'on the sign-in page (or POST /v1/auth/password/forgot).',
      '',
      'If it was not you, ignore this message: nothing was changed and nobody learned that you have an account.',
    ].join('\n'),
  };
}

/**
 * After a device sign-in (`mosis login`) handed a key over: the approval is one click on a page a
 * phishing mail can link to, so the owner hears of every one, with how to undo it.
 */
export function deviceSignInMail(user: User, signIn: { clientName: string; scopes: readonly string[]; requestedFrom: string | null; collectedFrom: string | null }, baseUrl: string): MailMessage {
  return {
    to: user.email,
    subject: 'A new sign-in to your Mosis Portal account',
    text: [
      `A client that calls itself "${signIn.clientName}" signed in to ${user.email} with a code you approved, and received an API key`,
      `with these permissions: ${signIn.scopes.join(', ')}.`,
      '',
      `It asked from ${signIn.requestedFrom ?? 'an unknown address'} and collected the key from ${signIn.collectedFrom ?? 'an unknown address'}.`,
      '',
      `If that was you (mosis login), there is nothing to do. If not, revoke the key at ${baseUrl}/settings/api-keys`,
      'and change your password: someone got you to approve their code.',
    ].join('\n'),
  };
}
