# domain has no default.
{
  services.secureMattermost.mode = "kubernetes";
}
