# The smallest valid declaration: only the two options without default.
{
  services.secureMattermost.mode = "baremetal";
  services.secureMattermost.domain = "chat.example.org";
}
