"""US NANP area codes and the time zones they serve: a small shipped table.

An area code that spans two zones lists both (the calling window must hold in each). A
code not here (new overlays, non-geographic, Canada, the Caribbean) is unknown and the
next rule decides (appliance.outbound.windows). Mobile numbers keep their area code when
people move: the area code is a guess, which is why the patient's record zone, when
known, must also be satisfied.
"""

from __future__ import annotations

_ONE_ZONE: dict[str, str] = {
    "America/New_York": (
        # NY, NJ, PA, New England, DE, MD, DC, VA, WV, NC, SC, GA, OH, most of FL
        "212 315 332 347 516 518 585 607 631 646 680 716 718 838 845 914 917 929 934 "
        "201 551 609 640 732 848 856 862 908 973 "
        "215 223 267 272 412 445 484 570 610 717 724 814 878 "
        "339 351 413 508 617 774 781 857 978 203 475 860 959 401 603 802 207 "
        "302 227 240 301 410 443 667 202 771 "
        "276 434 540 571 703 757 804 826 948 304 681 "
        "252 336 704 743 828 910 919 980 984 803 839 843 854 864 "
        "229 404 470 478 678 706 762 770 912 943 "
        "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937 "
        "239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954 "
        "502 859 606 865"
    ),
    "America/Detroit": "231 248 269 313 517 586 616 679 734 810 947 989",
    "America/Indiana/Indianapolis": "260 317 463 765",
    "America/Chicago": (
        # IL, WI, MN, IA, MO, AR, LA, MS, AL, OK, most of TX, eastern KS, eastern NE, TN
        "217 224 309 312 331 447 464 618 630 708 773 779 815 847 872 "
        "262 274 414 534 608 715 920 218 320 507 612 651 763 952 "
        "319 515 563 641 712 314 417 557 573 636 660 816 975 327 479 501 870 "
        "225 318 337 504 985 228 601 662 769 205 251 256 334 659 938 "
        "405 539 572 580 918 "
        "210 214 254 281 325 346 361 409 430 469 512 682 713 726 737 806 817 830 832 "
        "903 936 940 945 956 972 979 "
        "316 913 402 531 615 629 731 901"
    ),
    "America/Denver": "303 719 720 970 983 505 575 385 435 801 307 406 915",
    "America/Phoenix": "480 520 602 623",  # Arizona keeps standard time all year
    "America/Los_Angeles": (
        "209 213 279 310 323 341 350 408 415 424 442 510 530 559 562 619 626 628 650 657 "
        "661 669 707 714 747 760 805 818 820 831 840 858 909 916 925 949 951 "
        "206 253 360 425 509 564 503 458 971 702 725"
    ),
    "Pacific/Honolulu": "808",
    "America/Puerto_Rico": "787 939",
}

# area codes whose area lies in two zones
_TWO_ZONES: dict[str, tuple[str, ...]] = {
    "850": ("America/New_York", "America/Chicago"),  # Florida panhandle
    "448": ("America/New_York", "America/Chicago"),
    "906": ("America/Detroit", "America/Menominee"),  # Upper Peninsula
    "219": ("America/Chicago", "America/Indiana/Indianapolis"),
    "574": ("America/Indiana/Indianapolis", "America/Chicago"),
    "812": ("America/Indiana/Indianapolis", "America/Chicago"),
    "930": ("America/Indiana/Indianapolis", "America/Chicago"),
    "270": ("America/Chicago", "America/New_York"),  # Kentucky
    "364": ("America/Chicago", "America/New_York"),
    "423": ("America/New_York", "America/Chicago"),  # Tennessee
    "931": ("America/Chicago", "America/New_York"),
    "432": ("America/Chicago", "America/Denver"),  # west Texas
    "620": ("America/Chicago", "America/Denver"),  # Kansas
    "785": ("America/Chicago", "America/Denver"),
    "308": ("America/Chicago", "America/Denver"),  # Nebraska
    "605": ("America/Chicago", "America/Denver"),  # South Dakota
    "701": ("America/Chicago", "America/Denver"),  # North Dakota
    "208": ("America/Boise", "America/Los_Angeles"),  # Idaho
    "986": ("America/Boise", "America/Los_Angeles"),
    "541": ("America/Los_Angeles", "America/Boise"),  # Oregon (Malheur County)
    "775": ("America/Los_Angeles", "America/Denver"),  # Nevada (West Wendover)
    "928": ("America/Phoenix", "America/Denver"),  # the Navajo Nation keeps DST
    "907": ("America/Anchorage", "America/Adak"),
}


def _build() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for zone, codes in _ONE_ZONE.items():
        for code in codes.split():
            table[code] = (zone,)
    table.update(_TWO_ZONES)
    return table


AREA_ZONES: dict[str, tuple[str, ...]] = _build()


def zones_for_area_code(code: str) -> tuple[str, ...]:
    """The IANA zones an area code serves; () when the table does not know it."""
    return AREA_ZONES.get(code, ())
