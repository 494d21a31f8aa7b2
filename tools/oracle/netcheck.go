package main

import (
	"net"
	"net/netip"
	"strings"
	"unicode"
)

// splitAllowList splits ServiceSettings.AllowedUntrustedInternalConnections as
// the server does (server/public shared/httpservice: strings.FieldsFunc with a
// predicate that is true for unicode.IsSpace runes and ','). That predicate is
// unexported, so it is restated here -- one line, the only reproduced logic in
// this file; strings.FieldsFunc and unicode.IsSpace are the real ones.
func splitAllowList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
}

// Addresses each CIDR entry is tested against with the server's own check
// (net.ParseCIDR(entry) then (*net.IPNet).Contains(ip)).
var probeIPs = []string{
	"0.0.0.0", "10.1.2.3", "127.0.0.1", "169.254.169.254", "172.16.0.1", "192.168.1.1",
	"8.8.8.8", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "2001:db8::1",
	"::ffff:10.1.2.3", "::ffff:8.8.8.8", "64:ff9b::a01:203",
}

func classifyList(s string) map[string]any {
	entries := []map[string]any{}
	for _, e := range splitAllowList(s) {
		v := map[string]any{"text": e}
		if ip, ipnet, err := net.ParseCIDR(e); err == nil {
			ones, bits := ipnet.Mask.Size()
			v["class"] = "cidr"
			v["addr"] = familyString(ip, bits)
			v["prefix"] = ones
			v["bits"] = bits
			covers := []string{}
			for _, p := range probeIPs {
				if ipnet.Contains(net.ParseIP(p)) {
					covers = append(covers, p)
				}
			}
			v["covers"] = covers
		} else if ip := net.ParseIP(e); ip != nil {
			v["class"] = "ip"
			// net.IP does not remember whether "::ffff:1.2.3.4" was written in
			// IPv6 form; netip.ParseAddr (which net.ParseIP wraps) does.
			if a, err := netip.ParseAddr(e); err == nil {
				v["addr"] = a.String()
			} else {
				v["addr"] = ip.String()
			}
		} else {
			v["class"] = "host"
		}
		entries = append(entries, v)
	}
	return map[string]any{"entries": entries}
}

// familyString prints a net.ParseCIDR address in the family its mask has
// (net.IP.String would print "::ffff:1.2.3.4/120"'s address as 1.2.3.4).
func familyString(ip net.IP, bits int) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ip.String()
	}
	if bits == 32 {
		return a.Unmap().String()
	}
	return a.String()
}

// listenScope reports what net.Listen("tcp", addr) binds, with the port
// replaced by 0 so binding is harmless. Names are resolved from /etc/hosts
// only (DNS is disabled in this process).
func listenScope(addr string) map[string]any {
	host, port := "", ""
	if addr != "" { // net.Listen("tcp", "") listens on every interface
		var err error
		if host, port, err = net.SplitHostPort(addr); err != nil {
			return map[string]any{"scope": "invalid", "error": err.Error()}
		}
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return map[string]any{"scope": "invalid", "error": err.Error()}
	}
	// Go's resolver takes the host as a literal address when netip.ParseAddr
	// accepts it (IPv6 zones included), else as a name.
	lit, litErr := netip.ParseAddr(host)
	literal := host == "" || litErr == nil
	out := map[string]any{"literal": literal}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err == nil {
		ip := l.Addr().(*net.TCPAddr).IP
		l.Close()
		out["scope"], out["ip"] = classOf(ip)
		return out
	}
	out["error"] = err.Error()
	if !literal {
		out["scope"] = "hostname"
		return out
	}
	// A literal that cannot be bound here (an address this machine does not
	// have, or an unknown zone) is still a specific address.
	out["scope"], out["ip"] = classOf(net.IP(lit.Unmap().AsSlice()))
	return out
}

func classOf(ip net.IP) (string, string) {
	s := ip.String()
	if a, ok := netip.AddrFromSlice(ip); ok {
		s = a.Unmap().String()
	}
	switch {
	case ip.IsLoopback():
		return "loopback", s
	case ip.IsUnspecified():
		return "all", s
	default:
		return "specific", s
	}
}
