-- The OElove v4.6 tables the sync reads (columns it needs, plus a few neighbours), as the install
-- script creates them: MyISAM, utf8, unix-epoch integer times, the `oepre_` prefix (replaced by the
-- test helpers when a test uses another prefix). Time columns of append-only tables are indexed.
CREATE TABLE `oepre_user` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `username` varchar(50) NOT NULL DEFAULT '',
  `password` varchar(32) NOT NULL DEFAULT '',
  `email` varchar(100) NOT NULL DEFAULT '',
  `gender` tinyint(1) NOT NULL DEFAULT 0,
  `groupid` smallint(5) NOT NULL DEFAULT 0,
  `avatar` varchar(200) NOT NULL DEFAULT '',
  `avatarflag` tinyint(1) NOT NULL DEFAULT 0,
  `isblack` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`userid`),
  KEY `username` (`username`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_profile` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `provinceid` int(10) NOT NULL DEFAULT 0,
  `cityid` int(10) NOT NULL DEFAULT 0,
  `distid` int(10) NOT NULL DEFAULT 0,
  `birthday` date NOT NULL DEFAULT '0000-00-00',
  `ageyear` smallint(4) NOT NULL DEFAULT 0,
  `marrystatus` tinyint(3) NOT NULL DEFAULT 0,
  `education` tinyint(3) NOT NULL DEFAULT 0,
  `height` smallint(3) NOT NULL DEFAULT 0,
  `weight` smallint(3) NOT NULL DEFAULT 0,
  `salary` tinyint(3) NOT NULL DEFAULT 0,
  `income` tinyint(3) NOT NULL DEFAULT 0,
  `jobs` smallint(5) NOT NULL DEFAULT 0,
  `housing` tinyint(3) NOT NULL DEFAULT 0,
  `caring` tinyint(3) NOT NULL DEFAULT 0,
  `childrenstatus` tinyint(3) NOT NULL DEFAULT 0,
  `national` tinyint(3) NOT NULL DEFAULT 0,
  `smoking` tinyint(3) NOT NULL DEFAULT 0,
  `drinking` tinyint(3) NOT NULL DEFAULT 0,
  `monolog` text,
  `moluptime` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`userid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_params` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `gender` tinyint(1) NOT NULL DEFAULT 0,
  `ageyear` smallint(4) NOT NULL DEFAULT 0,
  `provinceid` int(10) NOT NULL DEFAULT 0,
  `cityid` int(10) NOT NULL DEFAULT 0,
  `height` smallint(3) NOT NULL DEFAULT 0,
  `salary` tinyint(3) NOT NULL DEFAULT 0,
  `education` tinyint(3) NOT NULL DEFAULT 0,
  `marry` tinyint(3) NOT NULL DEFAULT 0,
  `house` tinyint(3) NOT NULL DEFAULT 0,
  `car` tinyint(3) NOT NULL DEFAULT 0,
  `rzmobile` tinyint(1) NOT NULL DEFAULT 0,
  `rzidnumber` tinyint(1) NOT NULL DEFAULT 0,
  `rzvideo` tinyint(1) NOT NULL DEFAULT 0,
  `addtime` int(10) NOT NULL DEFAULT 0,
  `ontime` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`userid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_status` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `regtime` int(10) NOT NULL DEFAULT 0,
  `regip` varchar(40) NOT NULL DEFAULT '',
  `logintime` int(10) NOT NULL DEFAULT 0,
  `logintimes` int(10) NOT NULL DEFAULT 0,
  `hits` int(10) NOT NULL DEFAULT 0,
  `rzmobile` tinyint(1) NOT NULL DEFAULT 0,
  `rzidnumber` tinyint(1) NOT NULL DEFAULT 0,
  `rzvideo` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`userid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_cond` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `gender` tinyint(1) NOT NULL DEFAULT 0,
  `startage` tinyint(3) NOT NULL DEFAULT 0,
  `endage` tinyint(3) NOT NULL DEFAULT 0,
  `startheight` smallint(3) NOT NULL DEFAULT 0,
  `endheight` smallint(3) NOT NULL DEFAULT 0,
  `marry` varchar(50) NOT NULL DEFAULT '',
  `startedu` tinyint(3) NOT NULL DEFAULT 0,
  `endedu` tinyint(3) NOT NULL DEFAULT 0,
  `setarea` tinyint(1) NOT NULL DEFAULT 0,
  `areas` varchar(255) NOT NULL DEFAULT '',
  `musttype` tinyint(1) NOT NULL DEFAULT 0,
  `mustcond` varchar(255) NOT NULL DEFAULT '',
  PRIMARY KEY (`userid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_validate` (
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `viplevel` tinyint(3) NOT NULL DEFAULT 0,
  `vipstartdate` int(10) NOT NULL DEFAULT 0,
  `vipenddate` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`userid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_user_viprecord` (
  `id` int(10) unsigned NOT NULL DEFAULT 0,
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `viplevel` tinyint(3) NOT NULL DEFAULT 0,
  `startdate` int(10) NOT NULL DEFAULT 0,
  `enddate` int(10) NOT NULL DEFAULT 0,
  `money` decimal(10,2) NOT NULL DEFAULT 0.00,
  `dateline` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `userid` (`userid`),
  KEY `dateline` (`dateline`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_payment_log` (
  `paynum` varchar(32) NOT NULL DEFAULT '',
  `userid` int(10) unsigned NOT NULL DEFAULT 0,
  `addtime` int(10) NOT NULL DEFAULT 0,
  `amount` decimal(10,2) NOT NULL DEFAULT 0.00,
  `realamount` decimal(10,2) NOT NULL DEFAULT 0.00,
  `paystatus` tinyint(1) NOT NULL DEFAULT 0,
  `dealnum` varchar(64) NOT NULL DEFAULT '',
  `paytype` varchar(20) NOT NULL DEFAULT '',
  PRIMARY KEY (`paynum`),
  KEY `userid` (`userid`),
  KEY `addtime` (`addtime`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_message` (
  `msgid` int(10) unsigned NOT NULL DEFAULT 0,
  `fromuserid` int(10) unsigned NOT NULL DEFAULT 0,
  `touserid` int(10) unsigned NOT NULL DEFAULT 0,
  `content` text,
  `sendtime` int(10) NOT NULL DEFAULT 0,
  `readflag` tinyint(1) NOT NULL DEFAULT 0,
  `readtime` int(10) NOT NULL DEFAULT 0,
  `issystem` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`msgid`),
  KEY `touserid` (`touserid`),
  KEY `sendtime` (`sendtime`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_home_viewer` (
  `viewid` int(10) unsigned NOT NULL DEFAULT 0,
  `homeuserid` int(10) unsigned NOT NULL DEFAULT 0,
  `viewuserid` int(10) unsigned NOT NULL DEFAULT 0,
  `viewtime` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`viewid`),
  KEY `homeuserid` (`homeuserid`),
  KEY `viewtime` (`viewtime`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_hibox` (
  `hiid` int(10) unsigned NOT NULL DEFAULT 0,
  `fromuserid` int(10) unsigned NOT NULL DEFAULT 0,
  `touserid` int(10) unsigned NOT NULL DEFAULT 0,
  `sendtime` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`hiid`),
  KEY `touserid` (`touserid`),
  KEY `sendtime` (`sendtime`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_area` (
  `areaid` int(10) unsigned NOT NULL DEFAULT 0,
  `rootid` int(10) unsigned NOT NULL DEFAULT 0,
  `depth` tinyint(1) NOT NULL DEFAULT 0,
  `areaname` varchar(50) NOT NULL DEFAULT '',
  `orders` int(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (`areaid`),
  KEY `rootid` (`rootid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

CREATE TABLE `oepre_love_paramter` (
  `ptid` int(10) unsigned NOT NULL DEFAULT 0,
  `ptname` varchar(50) NOT NULL DEFAULT '',
  `ptvalue` text,
  PRIMARY KEY (`ptid`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;
