# String interpolation, nested, with escapes.
let
  org = "example";
  tld = "com";
  host = "chat.${org}.${tld}";
in
{
  services.secureMattermost = {
    mode = "kubernetes";
    domain = host;
    siteName = "${org} \"chat\"";
    mattermost.image = "registry.${org}.${tld}/mattermost/${"mattermost-enterprise-edition"}";
    classificationBanner.text = "Tab\there, dollar \${not} and $plain";
  };
}
