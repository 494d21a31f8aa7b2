# A module function taking the usual arguments; `pkgs` is accepted but unused.
{ config, lib, pkgs, ... }:
{
  services.secureMattermost = {
    enable = lib.mkDefault true;
    mode = "kubernetes";
    domain = "chat.example.com";
    replicas = 2;
    kubernetes.namespace = "chat";
  };
}
