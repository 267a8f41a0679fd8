//! Heartbeats: a node announces itself when it joins and every third of
//! the lease timeout after, so the others count it alive; a node silent
//! for a whole lease timeout is dead to them.

use std::sync::Arc;

use super::Cluster;

/// Announces the node now, then keeps announcing it.
pub async fn join(cluster: &Arc<Cluster>) -> Result<(), super::Error> {
    cluster.metastore.heartbeat(&cluster.node).await?;
    tracing::info!(
        node = %cluster.node.id,
        url = %cluster.node.url,
        roles = ?cluster.node.roles,
        "joined the cluster"
    );
    let beating = cluster.clone();
    cluster.spawn(async move {
        let every = (beating.lease_timeout / 3).max(std::time::Duration::from_millis(200));
        let mut failing = false;
        loop {
            tokio::time::sleep(every).await;
            match beating.metastore.heartbeat(&beating.node).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("heartbeats reach the metastore again");
                }
                Ok(()) => {}
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(error = %err, "a heartbeat failed; retrying");
                }
                Err(_) => {}
            }
        }
    });
    Ok(())
}
