//! How the pinned Mattermost server and its libraries read values (DSNs, address lists, listen addresses).
