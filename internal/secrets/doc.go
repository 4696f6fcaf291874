// Package secrets fetches the secrets a function needs at run time, so that
// none of them is written into the function's configuration: from KMS
// Secrets Manager on Function Compute (GetSecretValue, signed with the
// function role's STS credentials), and from the AWS Parameters and Secrets
// Lambda Extension's local HTTP API on Lambda.
//
// One scheme names them: a variable X that holds a secret may instead be
// given as X_SECRET, naming the secret whose value X takes ("name", or
// "name#Key" for the field Key of a secret whose value is a JSON object).
// Resolve applies it; internal/app lists which variables may be given so.
package secrets
