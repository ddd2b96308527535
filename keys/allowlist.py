"""A key's IP allow-list: CIDRs (IPv4 and IPv6) checked with one set lookup per distinct prefix
length, the networks worked out once when the key is read (and kept with the cached key)."""

from __future__ import annotations

import ipaddress

MAX_ENTRIES = 50


class AllowListError(ValueError):
    """The list given is not a valid allow-list; the message says why."""


def normalize(entries) -> list[str]:
    """The canonical form of ``entries`` (CIDRs or bare addresses, any whitespace or commas
    between them): sorted, without duplicates. Raises AllowListError."""
    if entries is None:
        return []
    if isinstance(entries, str):
        entries = entries.replace(",", " ").split()
    if not isinstance(entries, list | tuple):
        raise AllowListError("Give the allowed addresses as a list of CIDRs.")
    networks = []
    for raw in entries:
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
            raise AllowListError("Each allowed address must be a CIDR such as 203.0.113.0/24.")
        text = raw.strip()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise AllowListError(
                f"“{text[:64]}” is not an IP address or CIDR (e.g. 203.0.113.0/24 or "
                "2001:db8::/32)."
            ) from None
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
            mapped = network.network_address.ipv4_mapped
            network = ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}")
        networks.append(network)
    unique = sorted(set(networks), key=lambda n: (n.version, n.network_address, n.prefixlen))
    if len(unique) > MAX_ENTRIES:
        raise AllowListError(f"At most {MAX_ENTRIES} allowed addresses per key.")
    return [str(n) for n in unique]


class AllowList:
    """``allows(ip)``: whether an address falls in one of the networks."""

    __slots__ = ("source", "_lengths", "_networks")

    def __init__(self, cidrs: list[str]) -> None:
        self.source = cidrs
        self._lengths: dict[int, tuple[int, ...]] = {4: (), 6: ()}
        self._networks: set[tuple[int, int, int]] = set()  # (version, prefix length, network)
        lengths: dict[int, set[int]] = {4: set(), 6: set()}
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            lengths[network.version].add(network.prefixlen)
            self._networks.add((network.version, network.prefixlen, int(network.network_address)))
        self._lengths = {v: tuple(sorted(ls)) for v, ls in lengths.items()}

    def allows(self, ip: str | None) -> bool:
        if not ip:
            return False
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        version, bits, value = address.version, address.max_prefixlen, int(address)
        networks = self._networks
        for length in self._lengths[version]:
            shift = bits - length
            if (version, length, (value >> shift) << shift) in networks:
                return True
        return False
