# Indented strings: common indentation removed, escapes, interpolation.
let
  what = "monitored";
in
{
  services.secureMattermost = {
    mode = "baremetal";
    domain = "chat.example.com";
    classificationBanner.text = ''
      UNCLASSIFIED
        use is ${what}
      literal ''${dollar} and '''quotes'''
    '';
    settings.AnnouncementSettings.BannerText = ''one line'';
    settings.AnnouncementSettings.Notice = ''
        first
      second
    tail'';
  };
}
